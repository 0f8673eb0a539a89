{#- What revenues and benefits contributes: council tax support, arrears and housing benefit
    as person records, and arrears as service contacts. Read through macro
    body_contributions. -#}
{% macro contributions__revenues_benefits() -%}
    {{ return({
        'person_records': [
            {
                'entity': 'council_tax_support',
                'model': 'stg_revenues_benefits__council_tax_support',
                'record_id': 'claim_ref',
                'birth_year': 'birth_year', 'sex_code': 'null::text',
                'nhs_number_token': 'null::text', 'record_date': 'period_start',
                'given_uprn': 'uprn'},
            {
                'entity': 'arrears', 'model': 'stg_revenues_benefits__arrears',
                'record_id': 'account_ref',
                'birth_year': 'birth_year', 'sex_code': 'null::text',
                'nhs_number_token': 'null::text', 'record_date': 'period_start',
                'given_uprn': 'uprn'},
            {
                'entity': 'housing_benefit', 'model': 'stg_revenues_benefits__housing_benefit',
                'record_id': 'claim_ref',
                'birth_year': 'birth_year', 'sex_code': 'null::text',
                'nhs_number_token': 'null::text', 'record_date': 'period_start',
                'given_uprn': 'uprn'},
        ],
        'service_contacts': [{
            'entity': 'arrears', 'model': 'stg_revenues_benefits__arrears',
            'record_id': "account_ref || ':' || source_period",
            'person_ref_token': 'person_ref_token',
            'contact_type': "'arrears_' || coalesce(recovery_stage, 'unknown')",
            'contact_date': 'snapshot_date',
            'severity': "case
                when recovery_stage in ('summons', 'liability_order', 'enforcement_agent')
                    then 'high'
                when recovery_stage = 'final_notice' then 'medium'
                else 'low'
            end",
            'given_uprn': 'uprn'}],
    }) }}
{%- endmacro %}
