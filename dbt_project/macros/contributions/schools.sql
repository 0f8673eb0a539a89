{#- What schools contribute: monthly attendance and exclusions as person records, and
    exclusions as service contacts. Read through macro body_contributions. -#}
{% macro contributions__schools() -%}
    {{ return({
        'person_records': [
            {
                'entity': 'attendance', 'model': 'stg_schools__attendance',
                'record_id': "school_urn || ':' || to_char(attendance_month, 'YYYY-MM')",
                'birth_year': 'birth_year', 'sex_code': 'sex_code',
                'nhs_number_token': 'null::text', 'record_date': 'attendance_month',
                'given_uprn': 'null::text'},
            {
                'entity': 'exclusions', 'model': 'stg_schools__exclusions',
                'record_id': 'exclusion_id',
                'birth_year': 'null::integer', 'sex_code': 'null::text',
                'nhs_number_token': 'null::text', 'record_date': 'start_date',
                'given_uprn': 'null::text'},
        ],
        'service_contacts': [{
            'entity': 'exclusions', 'model': 'stg_schools__exclusions',
            'record_id': 'exclusion_id', 'person_ref_token': 'person_ref_token',
            'contact_type': "coalesce(exclusion_type, 'exclusion')",
            'contact_date': 'start_date',
            'severity': "case when exclusion_type = 'permanent' then 'high' else 'medium' end",
            'given_uprn': 'null::text'}],
    }) }}
{%- endmacro %}
