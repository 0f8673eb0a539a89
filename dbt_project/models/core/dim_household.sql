{{
    config(
        materialized='incremental',
        incremental_strategy='slice',
        slice_condition='household_in_slice',
        on_schema_change='fail',
        pre_hook=["{{ record_slice_changed_households() }}"],
    )
}}
{#- One row per household: the people known to live at one property (UPRN) in one month.
    The household key is pseudonymous (md5 of the keyed property key and month). Rebuilt whole
    (strategy slice), but given a delivery's slice (JIGSAW_SLICE, macros/slices.sql) it
    replaces only the households its changed people left or live in. -#}
with

locations as (
    select * from {{ ref('int_person_months_located') }}
    where {{ of_slice_household('household_key') }}
),

properties as (
    select * from {{ ref('dim_property') }}
),

households as (
    select
        household_key,
        uprn,
        month_start,
        count(distinct person_key)::integer as persons
    from locations
    group by household_key, uprn, month_start
),

final as (
    select
        households.household_key,
        households.uprn,
        households.month_start,
        households.persons,
        properties.lsoa_code,
        properties.ward_code,
        properties.is_social_housing
    from households
    left join properties on households.uprn = properties.uprn
)

select * from final
