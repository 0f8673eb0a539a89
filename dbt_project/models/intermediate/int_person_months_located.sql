{{
    config(
        materialized='incremental',
        incremental_strategy='slice',
        slice_condition='person_in_slice',
        on_schema_change='fail',
        pre_hook=["{{ capture_slice_households() }}"],
    )
}}
{#- Where each person lived in each month they appear in any record with a property: the
    property of their latest such record in the month. People at the same UPRN in the same
    month form a household. Rebuilt whole (strategy slice), but given a delivery's slice
    (JIGSAW_SLICE, macros/slices.sql) it replaces only the months of the people the slice
    changes, after keeping the households they leave (capture_slice_households). -#}
{{ person_months_located(ref('int_person_records_keyed'), sliced=true) }}
