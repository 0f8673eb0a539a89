{#- Where each person lived in each month, as known to the bodies whose sharing agreements
    permit financial inclusion (the housing provider's lead tenants; the council's revenues
    and benefits claimants and account holders): the property of their latest such record in
    the month. -#}
{{ person_months_located(ref('int_person_records_keyed_for_financial_inclusion')) }}
