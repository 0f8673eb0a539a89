{#- What the police contribute to the regional model: incident records naming a person, and
    the same incidents as service contacts. Read through macro body_contributions. -#}
{% macro contributions__police() -%}
    {{ return({
        'person_records': [{
            'entity': 'incidents', 'model': 'stg_police__incidents',
            'record_id': "incident_no || ':' || person_ref_token",
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'null::text', 'record_date': 'incident_date',
            'given_uprn': 'null::text'}],
        'service_contacts': [{
            'entity': 'incidents', 'model': 'stg_police__incidents',
            'record_id': "incident_no || ':' || person_ref_token",
            'person_ref_token': 'person_ref_token',
            'contact_type': 'incident_type', 'contact_date': 'incident_date',
            'severity': "case
                when risk_grade = 'high' then 'high'
                when risk_grade = 'medium' then 'medium'
                when incident_type in ('domestic_abuse', 'missing_person', 'violence')
                    then 'medium'
                else 'low'
            end",
            'given_uprn': 'null::text'}],
    }) }}
{%- endmacro %}
