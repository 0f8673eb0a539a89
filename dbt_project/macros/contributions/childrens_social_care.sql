{#- What children's social care contributes: referrals, assessments and child protection
    plans, as person records and as service contacts. Read through macro
    body_contributions. -#}
{% macro contributions__childrens_social_care() -%}
    {{ return({
        'person_records': [
            {
                'entity': 'referrals', 'model': 'stg_childrens_social_care__referrals',
                'record_id': 'referral_id',
                'birth_year': 'birth_year', 'sex_code': 'sex_code',
                'nhs_number_token': 'null::text', 'record_date': 'referral_date',
                'given_uprn': 'uprn'},
            {
                'entity': 'assessments', 'model': 'stg_childrens_social_care__assessments',
                'record_id': 'assessment_id',
                'birth_year': 'null::integer', 'sex_code': 'null::text',
                'nhs_number_token': 'null::text', 'record_date': 'start_date',
                'given_uprn': 'null::text'},
            {
                'entity': 'child_protection_plans',
                'model': 'stg_childrens_social_care__child_protection_plans',
                'record_id': 'plan_id',
                'birth_year': 'null::integer', 'sex_code': 'null::text',
                'nhs_number_token': 'null::text', 'record_date': 'start_date',
                'given_uprn': 'null::text'},
        ],
        'service_contacts': [
            {
                'entity': 'referrals', 'model': 'stg_childrens_social_care__referrals',
                'record_id': 'referral_id', 'person_ref_token': 'person_ref_token',
                'contact_type': "'referral'", 'contact_date': 'referral_date',
                'severity': "case when primary_need = 'abuse_neglect' then 'high' else 'medium' end",
                'given_uprn': 'uprn'},
            {
                'entity': 'assessments', 'model': 'stg_childrens_social_care__assessments',
                'record_id': 'assessment_id', 'person_ref_token': 'person_ref_token',
                'contact_type': "'assessment'", 'contact_date': 'start_date',
                'severity': "case
                    when outcome = 'strategy_discussion' then 'high'
                    when outcome in ('child_in_need', 'open') then 'medium'
                    else 'low'
                end",
                'given_uprn': 'null::text'},
            {
                'entity': 'child_protection_plans',
                'model': 'stg_childrens_social_care__child_protection_plans',
                'record_id': 'plan_id', 'person_ref_token': 'person_ref_token',
                'contact_type': "'child_protection_plan'", 'contact_date': 'start_date',
                'severity': "'high'",
                'given_uprn': 'null::text'},
        ],
    }) }}
{%- endmacro %}
