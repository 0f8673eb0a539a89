{#- The person-bearing records of the bodies whose sharing agreements permit financial
    inclusion (in the demo region the housing provider's tenancies and the council's revenues
    and benefits records; the bodies come from the contribution registry), keyed like
    int_person_records_keyed. No other body is in its lineage. -#}
{{ keyed_person_records(
    contributing_bodies('person_records', 'financial_inclusion'), purpose='financial_inclusion'
) }}
