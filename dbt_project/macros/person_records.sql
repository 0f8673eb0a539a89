{#- Person-bearing records keyed to the regional person, for a stated list of bodies.

    A purpose-limited model unions only the bodies whose sharing agreements permit its
    purpose, so its dbt lineage (which the purpose_limitation gate walks) reaches no other
    body. A body's permitted purposes are its source spec's: dbt reads them from the macros
    generated from the spec (macros/agreements/<body>.sql, `python -m quality.derived_files`).
    Give `purpose` and compilation also checks each body's source meta (generated from the
    same spec) and fails on a body that does not permit it, so a stale generated file stops the
    build. -#}

{#- A registry that is data: the result of each project macro named <prefix><body>, by body.
    The macros are found among the project's macros, which dbt has already parsed when it parses
    models, so the refs chosen from them are known at parse time and the lineage (which the
    purpose_limitation gate walks) holds exactly the bodies chosen. -#}
{% macro macros_by_body(prefix) -%}
    {%- set found = {} -%}
    {%- for name in context.keys() | sort if name.startswith(prefix) -%}
        {%- do found.update({name[prefix | length:]: context[name]()}) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- The sharing agreements, by body: each generated macro agreement__<body>() returns the
    agreement's reference and permitted purposes. -#}
{% macro sharing_agreements() -%}
    {{ return(macros_by_body('agreement__')) }}
{%- endmacro %}

{#- The contribution registry: each body declares what it adds to the regional model in a
    macro of its own, macros/contributions/<body>.sql, named contributions__<body>, returning
    per kind ('person_records', 'service_contacts') one shape per extract. -#}
{% macro body_contributions() -%}
    {{ return(macros_by_body('contributions__')) }}
{%- endmacro %}

{#- The bodies contributing `kind` whose sharing agreement permits `purpose` (any purpose when
    none is given), sorted by name. A body with no agreement contributes to no purpose. -#}
{% macro contributing_bodies(kind, purpose=none) -%}
    {%- set agreements = sharing_agreements() -%}
    {%- set bodies = [] -%}
    {%- for body, contribution in body_contributions().items() -%}
        {%- set permitted = agreements.get(body, {}).get('permitted_purposes', []) -%}
        {%- if contribution.get(kind) and (
            (purpose is none and body in agreements) or purpose in permitted
        ) -%}
            {%- do bodies.append(body) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(bodies | sort) }}
{%- endmacro %}

{#- One body's extracts of one kind, as declared in its contribution macro. -#}
{% macro contribution_shapes(body, kind) -%}
    {%- set contribution = body_contributions().get(body) -%}
    {%- if not contribution or not contribution.get(kind) -%}
        {{ exceptions.raise_compiler_error(
            "no " ~ kind ~ " declared for body " ~ body
            ~ " (macros/contributions/" ~ body ~ ".sql, macro contributions__" ~ body ~ ")"
        ) }}
    {%- endif -%}
    {{ return(contribution[kind]) }}
{%- endmacro %}

{#- One extract's records in the shared person-record shape (before keying). -#}
{% macro person_records_of(shape) -%}
    select
        body,
        '{{ shape.entity }}'::text as source_entity,
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

{#- One extract's records in the shared service-contact shape (before keying). -#}
{% macro service_contacts_of(shape) -%}
    select
        body,
        '{{ shape.entity }}'::text as source_entity,
        ({{ shape.record_id }})::text as record_id,
        ({{ shape.person_ref_token }})::text as person_ref_token,
        ({{ shape.contact_type }})::text as contact_type,
        ({{ shape.contact_date }})::date as contact_date,
        ({{ shape.severity }})::text as severity,
        ({{ shape.given_uprn }})::text as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref(shape.model) }}
{%- endmacro %}

{#- Every contributing body's service contacts for a purpose, unioned. -#}
{% macro unioned_service_contacts(purpose) -%}
    {%- set bodies = contributing_bodies('service_contacts', purpose) -%}
    {%- do assert_bodies_permit(bodies, purpose) -%}
    {%- set selects = [] -%}
    {%- for body in bodies -%}
        {%- for shape in contribution_shapes(body, 'service_contacts') -%}
            {%- do selects.append(service_contacts_of(shape)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ selects | join('\n    union all\n') }}
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

{#- The property of each delivered row's person record, joined on `row_carries_record`.
    Address matching keys its UPRNs by identity record, a distinct person record of a delivery
    (identity.person_records' grain); a row finds its record through its person reference, or,
    when the reference carries several records in the delivery (two tenancies, a new address),
    through its row number: such a record lists the rows carrying it (identity.record_rows),
    one row here each (source_row_number, null for a reference's one record). `bodies`: only
    these bodies. -#}
{% macro person_record_addresses(bodies=none) -%}
    select
        xrefs.body,
        xrefs.source_entity,
        xrefs.delivery_id,
        xrefs.person_ref_token,
        carrying.source_row_number,
        xrefs.uprn
    from {{ ref('stg_linkage__address_xrefs') }} as xrefs
    left join lateral unnest(xrefs.source_row_numbers) as carrying (source_row_number) on true
    {%- if bodies is not none %}
    where xrefs.body in ('{{ bodies | join("', '") }}')
    {%- endif %}
{%- endmacro %}

{#- The join of a delivered row to its record's property (`person_record_addresses`): exactly
    one match for a row whose record address matching has seen. -#}
{% macro row_carries_record(row, addresses) -%}
    {{ row }}.body = {{ addresses }}.body
    and {{ row }}.source_entity = {{ addresses }}.source_entity
    and {{ row }}.delivery_id = {{ addresses }}.delivery_id
    and {{ row }}.person_ref_token = {{ addresses }}.person_ref_token
    and (
        {{ addresses }}.source_row_number is null
        or {{ addresses }}.source_row_number = {{ row }}.source_row_number
    )
{%- endmacro %}

{#- The person-bearing records of the given bodies, each with its regional person key (identity
    resolution, else the interim key) and its property (address match, else the UPRN given). -#}
{% macro keyed_person_records(bodies, purpose=none) -%}
    {%- do assert_bodies_permit(bodies, purpose) -%}
    {%- set selects = [] -%}
    {%- for body in bodies -%}
        {%- for shape in contribution_shapes(body, 'person_records') -%}
            {%- do selects.append(person_records_of(shape)) -%}
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
        {{ person_record_addresses(bodies) }}
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
            on {{ row_carries_record('unioned', 'address_xrefs') }}
        {%- if builds_slice() %}
        -- an incremental build of a delivery's slice (macros/slices.sql)
        where {{ record_in_slice('unioned') }}
        {%- endif %}
    )

    select * from keyed
{%- endmacro %}

{#- Where each person lived in each month they appear in a keyed record with a property: the
    property of their latest such record in the month, and the household key. `sliced`: the
    model replaces a delivery's slice by person (person_in_slice), so a slice build reads only
    the slice's changed people's records. -#}
{% macro person_months_located(keyed_records, sliced=false) -%}
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
        where
            uprn is not null and record_month is not null
            {%- if sliced %}
            and {{ of_slice_person('person_key') }}
            {%- endif %}
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

{#- `dbt run-operation print_body_contributions`: the registry and the agreements as JSON, for
    tests that tie them to the source specs. -#}
{% macro print_body_contributions() -%}
    {%- do print(tojson({
        'contributions': body_contributions(), 'agreements': sharing_agreements()})) -%}
{%- endmacro %}
