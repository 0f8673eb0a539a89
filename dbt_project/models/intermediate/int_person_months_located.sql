{#- Where each person lived in each month they appear in any record with a property: the
    property of their latest such record in the month. People at the same UPRN in the same
    month form a household. -#}
{{ person_months_located(ref('int_person_records_keyed')) }}
