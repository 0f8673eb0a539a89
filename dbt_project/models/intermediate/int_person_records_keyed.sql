{#- Every delivered person-bearing record of every body, with its regional person key and
    property (macro keyed_person_records). The key comes from identity resolution
    (linkage.person_xref); a record linkage has not keyed yet gets an interim key,
    'interim:' || md5(body:token), so the model always builds. It reaches every body's
    records, so only marts whose purpose every body permits (early intervention) may use it;
    purpose-limited marts use the int_*_for_<purpose> models. -#}
{{ keyed_person_records([
    'acute_trust',
    'adult_social_care',
    'childrens_social_care',
    'housing_provider',
    'police',
    'revenues_benefits',
    'schools',
], purpose='early_intervention') }}
