{#- What adult social care contributes: care contacts, as person records and as service
    contacts. Read through macro body_contributions. -#}
{% macro contributions__adult_social_care() -%}
    {{ return({
        'person_records': [{
            'entity': 'care_contacts', 'model': 'stg_adult_social_care__care_contacts',
            'record_id': 'contact_id',
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'nhs_number_token', 'record_date': 'contact_date',
            'given_uprn': 'uprn'}],
        'service_contacts': [{
            'entity': 'care_contacts', 'model': 'stg_adult_social_care__care_contacts',
            'record_id': 'contact_id', 'person_ref_token': 'person_ref_token',
            'contact_type': 'contact_type', 'contact_date': 'contact_date',
            'severity': "case
                when contact_type = 'safeguarding_concern' then 'high'
                when contact_type in ('assessment', 'service_start') then 'medium'
                else 'low'
            end",
            'given_uprn': 'uprn'}],
    }) }}
{%- endmacro %}
