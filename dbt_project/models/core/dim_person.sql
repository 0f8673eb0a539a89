{{
    config(
        materialized='incremental',
        incremental_strategy='slice',
        slice_condition='person_in_slice',
        on_schema_change='fail',
    )
}}
{#- One row per regional person: the pseudonymous key and what the bodies' records agree on.
    Rebuilt whole (strategy slice), but given a delivery's slice (JIGSAW_SLICE,
    macros/slices.sql) it replaces only the people the slice changes. -#}
with

records as (
    select * from {{ ref('int_person_records_keyed') }}
    where {{ of_slice_person('person_key') }}
),

locations as (
    select * from {{ ref('int_person_months_located') }}
    where {{ of_slice_person('person_key') }}
),

latest_locations as (
    select
        person_key,
        uprn,
        household_key,
        row_number() over (partition by person_key order by month_start desc) as recency_rank
    from locations
),

summarised as (
    select
        person_key,
        case
            when bool_or(person_key_method = 'linkage') then 'linkage' else 'interim'
        end as person_key_method,
        min(match_probability) as min_match_probability,
        mode() within group (order by birth_year) as birth_year,
        coalesce(
            mode() within group (order by sex_code) filter (where sex_code in ('M', 'F', 'X')),
            'U'
        ) as sex_code,
        bool_or(nhs_number_token is not null) as has_valid_nhs_number,
        count(distinct body)::integer as bodies_known,
        count(*)::integer as records,
        min(record_date) as first_seen_date,
        max(record_date) as last_seen_date
    from records
    group by person_key
),

final as (
    select
        summarised.person_key,
        summarised.person_key_method,
        summarised.min_match_probability,
        summarised.birth_year,
        summarised.sex_code,
        summarised.has_valid_nhs_number,
        summarised.bodies_known,
        summarised.records,
        summarised.first_seen_date,
        summarised.last_seen_date,
        latest_locations.uprn as latest_uprn,
        latest_locations.household_key as latest_household_key
    from summarised
    left join latest_locations
        on
            summarised.person_key = latest_locations.person_key
            and latest_locations.recency_rank = 1
)

select * from final
