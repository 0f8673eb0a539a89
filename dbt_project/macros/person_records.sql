{#- Person-bearing records keyed to the regional person, for a stated list of bodies.

    A purpose-limited model unions only the bodies whose sharing agreements permit its
    purpose, so its dbt lineage (which the purpose_limitation gate walks) reaches no other
    body. Give `purpose` and compilation also checks each body's source meta
    (permitted_purposes, copied from the body's source spec) and fails on a body that does
    not permit it. -#}

{#- The bodies with person-bearing records, and their extracts. -#}
{% macro person_record_bodies() -%}
    {{ return({
        'acute_trust': ['ae_attendances'],
        'adult_social_care': ['care_contacts'],
        'childrens_social_care': ['referrals', 'assessments', 'child_protection_plans'],
        'housing_provider': ['tenancies'],
        'police': ['incidents'],
        'revenues_benefits': ['council_tax_support', 'arrears', 'housing_benefit'],
        'schools': ['attendance', 'exclusions'],
    }) }}
{%- endmacro %}

{#- One extract's records in the shared shape (before keying). -#}
{% macro person_records_of(body, entity) -%}
    {%- set shapes = {
        'ae_attendances': {
            'model': 'stg_acute_trust__ae_attendances', 'record_id': 'attendance_id',
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'nhs_number_token', 'record_date': 'arrival_date',
            'given_uprn': 'null::text'},
        'care_contacts': {
            'model': 'stg_adult_social_care__care_contacts', 'record_id': 'contact_id',
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'nhs_number_token', 'record_date': 'contact_date',
            'given_uprn': 'uprn'},
        'referrals': {
            'model': 'stg_childrens_social_care__referrals', 'record_id': 'referral_id',
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'null::text', 'record_date': 'referral_date',
            'given_uprn': 'uprn'},
        'assessments': {
            'model': 'stg_childrens_social_care__assessments', 'record_id': 'assessment_id',
            'birth_year': 'null::integer', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'start_date',
            'given_uprn': 'null::text'},
        'child_protection_plans': {
            'model': 'stg_childrens_social_care__child_protection_plans', 'record_id': 'plan_id',
            'birth_year': 'null::integer', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'start_date',
            'given_uprn': 'null::text'},
        'tenancies': {
            'model': 'stg_housing_provider__tenancies', 'record_id': 'tenancy_ref',
            'birth_year': 'birth_year', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'greatest(start_date, period_start)',
            'given_uprn': 'uprn'},
        'incidents': {
            'model': 'stg_police__incidents',
            'record_id': "incident_no || ':' || person_ref_token",
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'null::text', 'record_date': 'incident_date',
            'given_uprn': 'null::text'},
        'council_tax_support': {
            'model': 'stg_revenues_benefits__council_tax_support', 'record_id': 'claim_ref',
            'birth_year': 'birth_year', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'period_start',
            'given_uprn': 'uprn'},
        'arrears': {
            'model': 'stg_revenues_benefits__arrears', 'record_id': 'account_ref',
            'birth_year': 'birth_year', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'period_start',
            'given_uprn': 'uprn'},
        'housing_benefit': {
            'model': 'stg_revenues_benefits__housing_benefit', 'record_id': 'claim_ref',
            'birth_year': 'birth_year', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'period_start',
            'given_uprn': 'uprn'},
        'attendance': {
            'model': 'stg_schools__attendance',
            'record_id': "school_urn || ':' || to_char(attendance_month, 'YYYY-MM')",
            'birth_year': 'birth_year', 'sex_code': 'sex_code',
            'nhs_number_token': 'null::text', 'record_date': 'attendance_month',
            'given_uprn': 'null::text'},
        'exclusions': {
            'model': 'stg_schools__exclusions', 'record_id': 'exclusion_id',
            'birth_year': 'null::integer', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'start_date',
            'given_uprn': 'null::text'},
    } -%}
    {%- set shape = shapes[entity] -%}
    select
        body,
        '{{ entity }}'::text as source_entity,
        ({{ shape.record_id }})::text as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        ({{ shape.birth_year }})::integer as birth_year,
        ({{ shape.sex_code }})::text as sex_code,
        ({{ shape.nhs_number_token }})::text as nhs_number_token,
        ({{ shape.record_date }})::date as record_date,
        ({{ shape.given_uprn }})::text as given_uprn
    from {{ ref(shape.model) }}
{%- endmacro %}

{#- Fails compilation when a body's sharing agreement (its dbt source meta) does not permit
    the purpose. Only at execution time: the graph is not populated while dbt parses. -#}
{% macro assert_bodies_permit(bodies, purpose) -%}
    {%- set purposes = [purpose] if purpose is string else (purpose or []) -%}
    {%- if execute -%}
        {%- for body in bodies -%}
            {%- set permitted = [] -%}
            {%- for source in graph.sources.values() -%}
                {%- if source.source_name == 'raw_' ~ body -%}
                    {%- set meta = source.source_meta or source.meta or {} -%}
                    {%- do permitted.extend(meta.get('permitted_purposes') or []) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- for wanted in purposes if wanted not in permitted -%}
                {{ exceptions.raise_compiler_error(
                    "raw_" ~ body ~ " does not permit purpose '" ~ wanted ~ "' (its source meta"
                    ~ " permitted_purposes: " ~ (permitted | unique | join(', ')) ~ ")"
                ) }}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The person-bearing records of the given bodies, each with its regional person key (identity
    resolution, else the interim key) and its property (address match, else the UPRN given). -#}
{% macro keyed_person_records(bodies, purpose=none) -%}
    {%- do assert_bodies_permit(bodies, purpose) -%}
    {%- set extracts = person_record_bodies() -%}
    {%- set selects = [] -%}
    {%- for body in bodies -%}
        {%- if body not in extracts -%}
            {{ exceptions.raise_compiler_error("no person-bearing records for body " ~ body) }}
        {%- endif -%}
        {%- for entity in extracts[body] -%}
            {%- do selects.append(person_records_of(body, entity)) -%}
        {%- endfor -%}
    {%- endfor -%}
    with

    unioned as (
        {{ selects | join('\n        union all\n') }}
    ),

    person_xrefs as (
        select * from {{ ref('stg_linkage__person_xrefs') }}
        where body in ('{{ bodies | join("', '") }}')
    ),

    address_xrefs as (
        select * from {{ ref('stg_linkage__address_xrefs') }}
        where body in ('{{ bodies | join("', '") }}')
    ),

    keyed as (
        select
            unioned.body,
            unioned.source_entity,
            unioned.record_id,
            unioned.delivery_id,
            unioned.source_row_number,
            unioned.source_period,
            unioned.loaded_at,
            unioned.person_ref_token,
            coalesce(
                person_xrefs.person_key,
                {{ interim_person_key('unioned.body', 'unioned.person_ref_token') }}
            ) as person_key,
            case
                when person_xrefs.person_key is not null then 'linkage' else 'interim'
            end as person_key_method,
            person_xrefs.match_probability,
            unioned.birth_year,
            unioned.sex_code,
            unioned.nhs_number_token,
            unioned.record_date,
            date_trunc('month', unioned.record_date)::date as record_month,
            coalesce(address_xrefs.uprn, unioned.given_uprn) as uprn,
            case
                when address_xrefs.uprn is not null then 'linkage'
                when unioned.given_uprn is not null then 'given'
            end as uprn_method
        from unioned
        left join person_xrefs
            on
                unioned.body = person_xrefs.body
                and unioned.person_ref_token = person_xrefs.person_ref_token
        left join address_xrefs
            on
                unioned.body = address_xrefs.body
                and unioned.source_entity = address_xrefs.source_entity
                and unioned.delivery_id = address_xrefs.delivery_id
                and unioned.source_row_number = address_xrefs.source_row_number
    )

    select * from keyed
{%- endmacro %}

{#- Where each person lived in each month they appear in a keyed record with a property: the
    property of their latest such record in the month, and the household key. -#}
{% macro person_months_located(keyed_records) -%}
    with

    located_records as (
        select
            person_key,
            record_month as month_start,
            uprn,
            row_number() over (
                partition by person_key, record_month
                order by
                    record_date desc, loaded_at desc, body asc, source_entity asc, record_id asc
            ) as recency_rank
        from {{ keyed_records }}
        where uprn is not null and record_month is not null
    ),

    property_keys as (
        select * from {{ ref('stg_linkage__property_keys') }}
    ),

    located as (
        select
            located_records.person_key,
            located_records.month_start,
            located_records.uprn,
            {{ household_key('property_keys.property_key', 'located_records.month_start') }}
                as household_key
        from located_records
        inner join property_keys on located_records.uprn = property_keys.uprn
        where located_records.recency_rank = 1
    )

    select * from located
{%- endmacro %}
