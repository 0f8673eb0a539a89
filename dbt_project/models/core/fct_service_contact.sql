{{
    config(
        materialized='incremental',
        incremental_strategy='slice',
        unique_key=['source_entity', 'source_period'],
        slice_condition='built_record_in_slice',
        on_schema_change='fail',
        indexes=[{'columns': ['source_entity', 'source_period']}, {'columns': ['person_key']}],
        post_hook=[
            "{{ delete_vanished_slices(ref('int_service_contacts_unioned'), ['source_entity', 'source_period']) if delivery_slice() is none }}",
        ],
    )
}}
{#- Every body's contacts in one shape. Incremental by delivery slice (entity, period): a run
    rebuilds only the slices loaded since they were last built (a new or corrected delivery)
    and the slices where identity resolution has since changed a person key or a contact's
    property (matched, moved or withdrawn). A slice left with no rows (a period emptied by an
    approved re-delivery, or expired) is deleted by the post-hook delete_vanished_slices.
    Given a delivery's slice (JIGSAW_SLICE, macros/slices.sql) it looks no further: it
    replaces the slice's periods and the re-keyed people's contacts (strategy 'slice'). -#}
with

contacts as (
    select * from {{ ref('int_service_contacts_unioned') }}
),

person_xrefs as (
    select * from {{ ref('stg_linkage__person_xrefs') }}
),

address_xrefs as (
    {{ person_record_addresses() }}
),

{% if builds_slice() %}

selected as (
    select contacts.*
    from contacts
    where {{ record_in_slice('contacts') }}
),

{% elif is_incremental() %}

slice_loads as (
    select
        source_entity,
        source_period,
        max(loaded_at) as last_loaded_at
    from contacts
    group by source_entity, source_period
),

built_slices as (
    select
        source_entity,
        source_period,
        max(loaded_at) as last_loaded_at
    from {{ this }}
    group by source_entity, source_period
),

rekeyed_slices as (
    select distinct
        built.source_entity,
        built.source_period
    from {{ this }} as built
    left join person_xrefs
        on
            built.body = person_xrefs.body
            and built.person_ref_token = person_xrefs.person_ref_token
    where
        built.person_ref_token is not null
        and built.person_key
        <> coalesce(
            person_xrefs.person_key,
            {{ interim_person_key('built.body', 'built.person_ref_token') }}
        )
),

readdressed_slices as (
    select distinct
        built.source_entity,
        built.source_period
    from {{ this }} as built
    inner join address_xrefs
        on {{ row_carries_record('built', 'address_xrefs') }}
    -- a new match, a changed one, or one withdrawn (the contact keeps no property)
    where built.uprn is distinct from address_xrefs.uprn
),

changed_slices as (
    select
        slice_loads.source_entity,
        slice_loads.source_period
    from slice_loads
    left join built_slices
        on
            slice_loads.source_entity = built_slices.source_entity
            and slice_loads.source_period = built_slices.source_period
    where
        built_slices.last_loaded_at is null
        or slice_loads.last_loaded_at > built_slices.last_loaded_at
    union
    select
        rekeyed_slices.source_entity,
        rekeyed_slices.source_period
    from rekeyed_slices
    union
    select
        readdressed_slices.source_entity,
        readdressed_slices.source_period
    from readdressed_slices
),

selected as (
    select contacts.*
    from contacts
    inner join changed_slices
        on
            contacts.source_entity = changed_slices.source_entity
            and contacts.source_period = changed_slices.source_period
),

{% else %}

selected as (
    select contacts.*
    from contacts
),

{% endif %}

keyed as (
    select
        md5(
            selected.body || ':' || selected.source_entity || ':'
            || selected.record_id
        ) as contact_key,
        selected.body,
        selected.source_entity,
        selected.record_id,
        case
            when selected.person_ref_token is not null
                then
                    coalesce(
                        person_xrefs.person_key,
                        {{ interim_person_key('selected.body', 'selected.person_ref_token') }}
                    )
        end as person_key,
        selected.person_ref_token,
        case
            when selected.person_ref_token is null then null
            when person_xrefs.person_key is not null then 'linkage'
            else 'interim'
        end as person_key_method,
        selected.contact_type,
        selected.contact_date,
        date_trunc('month', selected.contact_date)::date as contact_month,
        selected.severity,
        case selected.severity
            when 'high' then 3
            when 'medium' then 2
            else 1
        end as severity_rank,
        coalesce(address_xrefs.uprn, selected.given_uprn) as uprn,
        selected.delivery_id,
        selected.source_row_number,
        selected.source_period,
        selected.loaded_at,
        row_number() over (
            partition by
                selected.body,
                selected.source_entity,
                selected.record_id
            order by selected.loaded_at desc, selected.source_row_number desc
        ) as record_rank
    from selected
    left join person_xrefs
        on
            selected.body = person_xrefs.body
            and selected.person_ref_token = person_xrefs.person_ref_token
    left join address_xrefs
        on {{ row_carries_record('selected', 'address_xrefs') }}
),

final as (
    select
        contact_key,
        body,
        source_entity,
        record_id,
        person_key,
        person_ref_token,
        person_key_method,
        contact_type,
        contact_date,
        contact_month,
        severity,
        severity_rank,
        uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from keyed
    where record_rank = 1
)

select * from final
