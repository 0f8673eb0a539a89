{{
    config(
        materialized='incremental',
        incremental_strategy='slice',
        unique_key=['source_period'],
        slice_condition='sensor_day_in_slice',
        on_schema_change='fail',
        indexes=[{'columns': ['source_period']}, {'columns': ['loaded_at']}],
        post_hook=[
            "{{ delete_vanished_slices(ref('stg_home_sensors__sensor_readings'), ['source_period']) if delivery_slice() is none }}",
        ],
    )
}}
{#- One row per sensor per property per day. Incremental by delivery period: a run rebuilds
    only the periods with readings loaded after the latest load already built; a period left
    with no readings is deleted by the post-hook delete_vanished_slices. Given a delivery's
    slice (JIGSAW_SLICE, macros/slices.sql) it looks no further: it replaces the slice's
    periods (strategy 'slice'), emptied ones included. -#}
with

readings as (
    select * from {{ ref('stg_home_sensors__sensor_readings') }}
    {% if builds_slice() %}
    where {{ period_in_slice('home_sensors', 'sensor_readings', 'source_period') }}
    {% elif is_incremental() %}
    where
        source_period in (
            select distinct new_readings.source_period
            from {{ ref('stg_home_sensors__sensor_readings') }} as new_readings
            where
                new_readings.loaded_at
                > (select coalesce(max(built.loaded_at), '-infinity') from {{ this }} as built)
        )
    {% endif %}
),

daily as (
    select
        md5(sensor_id || ':' || uprn || ':' || reading_date::text) as sensor_day_key,
        sensor_id,
        uprn,
        reading_date,
        date_trunc('month', reading_date)::date as reading_month,
        count(*)::integer as readings,
        round(avg(temperature_c), 2)::numeric(5, 2) as mean_temperature_c,
        min(temperature_c)::numeric(5, 2) as min_temperature_c,
        max(temperature_c)::numeric(5, 2) as max_temperature_c,
        round(avg(relative_humidity), 2)::numeric(5, 2) as mean_relative_humidity,
        max(relative_humidity)::numeric(5, 2) as max_relative_humidity,
        round(
            (count(*) filter (where relative_humidity >= 70))::numeric
            / nullif(count(relative_humidity), 0),
            3
        )::numeric(4, 3) as share_humidity_70_plus,
        coalesce(
            (count(*) filter (where relative_humidity >= 70))::numeric
            / nullif(count(relative_humidity), 0)
            >= 0.25,
            false
        ) as is_damp_day,
        min(battery_pct)::integer as min_battery_pct,
        min(source_period) as source_period,
        max(loaded_at) as loaded_at
    from readings
    where uprn is not null
    group by sensor_id, uprn, reading_date
)

select * from daily
