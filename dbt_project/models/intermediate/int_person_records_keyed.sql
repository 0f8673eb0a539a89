{{
    config(
        materialized='incremental',
        incremental_strategy='slice',
        slice_condition='built_record_in_slice',
        on_schema_change='fail',
        post_hook=["{{ record_slice_changed_persons() }}"],
    )
}}
{#- Every delivered person-bearing record of every body whose agreement permits early
    intervention, with its regional person key and property (macro keyed_person_records; the
    bodies come from the contribution registry, macros/contributions/). The key comes from
    identity resolution (linkage.person_xref); a record linkage has not keyed yet gets an
    interim key, 'interim:' || md5(body:token), so the model always builds. Only marts whose
    purpose is early intervention may use it; other purposes use the int_*_for_<purpose>
    models. Rebuilt whole (strategy slice), but given a delivery's slice (JIGSAW_SLICE,
    macros/slices.sql) it replaces only the slice's periods and re-keyed people. -#}
{{ keyed_person_records(
    contributing_bodies('person_records', 'early_intervention'), purpose='early_intervention'
) }}
