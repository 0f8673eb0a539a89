{#- The person-bearing records of the bodies whose sharing agreements permit financial
    inclusion (the housing provider's tenancies; the council's revenues and benefits records),
    keyed like int_person_records_keyed. No other body is in its lineage. -#}
{{ keyed_person_records(
    ['housing_provider', 'revenues_benefits'], purpose='financial_inclusion'
) }}
