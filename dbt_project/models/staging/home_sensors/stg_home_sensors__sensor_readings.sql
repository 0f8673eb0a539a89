with

source as (
    select * from {{ source('raw_home_sensors', 'sensor_readings') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'home_sensors'::text as body,
        upper(trim(sensor_id)) as sensor_id,
        {{ standardise_uprn('uprn') }} as uprn,
        reading_at,
        reading_at::date as reading_date,
        temperature_c::numeric(5, 2) as temperature_c,
        relative_humidity::numeric(5, 2) as relative_humidity,
        battery_pct
    from source
)

select * from renamed
