{#- What the housing provider contributes: tenancies as person records (lead tenants), and
    repairs as service contacts at a property (no person). Read through macro
    body_contributions. -#}
{% macro contributions__housing_provider() -%}
    {{ return({
        'person_records': [{
            'entity': 'tenancies', 'model': 'stg_housing_provider__tenancies',
            'record_id': 'tenancy_ref',
            'birth_year': 'birth_year', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'greatest(start_date, period_start)',
            'given_uprn': 'uprn'}],
        'service_contacts': [{
            'entity': 'repairs', 'model': 'stg_housing_provider__repairs',
            'record_id': 'job_id', 'person_ref_token': 'null::text',
            'contact_type': "'repair_' || coalesce(category, 'other')",
            'contact_date': 'reported_date',
            'severity': "case
                when priority = 'emergency' then 'high'
                when priority = 'urgent' or category = 'damp_mould' then 'medium'
                else 'low'
            end",
            'given_uprn': 'uprn'}],
    }) }}
{%- endmacro %}
