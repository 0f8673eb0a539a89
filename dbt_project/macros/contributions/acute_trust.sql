{#- What the acute trust contributes: A&E attendances, as person records and as service
    contacts. Read through macro body_contributions. -#}
{% macro contributions__acute_trust() -%}
    {{ return({
        'person_records': [{
            'entity': 'ae_attendances', 'model': 'stg_acute_trust__ae_attendances',
            'record_id': 'attendance_id',
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'nhs_number_token', 'record_date': 'arrival_date',
            'given_uprn': 'null::text'}],
        'service_contacts': [{
            'entity': 'ae_attendances', 'model': 'stg_acute_trust__ae_attendances',
            'record_id': 'attendance_id', 'person_ref_token': 'person_ref_token',
            'contact_type': "'ae_attendance'", 'contact_date': 'arrival_date',
            'severity': "case
                when acuity <= 2 or diagnosis_group = 'self_harm' then 'high'
                when acuity = 3 then 'medium'
                else 'low'
            end",
            'given_uprn': 'null::text'}],
    }) }}
{%- endmacro %}
