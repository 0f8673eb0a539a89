{#- Every delivered person-bearing record of every body whose agreement permits early
    intervention, with its regional person key and property (macro keyed_person_records; the
    bodies come from the contribution registry, macros/contributions/). The key comes from
    identity resolution (linkage.person_xref); a record linkage has not keyed yet gets an
    interim key, 'interim:' || md5(body:token), so the model always builds. Only marts whose
    purpose is early intervention may use it; other purposes use the int_*_for_<purpose>
    models. -#}
{{ keyed_person_records(
    contributing_bodies('person_records', 'early_intervention'), purpose='early_intervention'
) }}
