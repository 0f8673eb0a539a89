{#- One row per property per month with repairs reported or sensor readings: repairs by kind
    and the month's damp measured by home sensors. -#}
with

repairs as (
    select
        uprn,
        date_trunc('month', reported_date)::date as month_start,
        count(*)::integer as repairs_reported,
        (count(*) filter (where category = 'damp_mould'))::integer as damp_mould_repairs,
        (count(*) filter (where priority = 'emergency'))::integer as emergency_repairs
    from {{ ref('stg_housing_provider__repairs') }}
    where uprn is not null
    group by uprn, date_trunc('month', reported_date)
),

sensor_days as (
    select
        uprn,
        reading_month as month_start,
        count(*)::integer as sensor_days,
        (count(*) filter (where is_damp_day))::integer as damp_days,
        round(avg(mean_relative_humidity), 2)::numeric(5, 2) as mean_relative_humidity,
        round(avg(mean_temperature_c), 2)::numeric(5, 2) as mean_temperature_c
    from {{ ref('fct_sensor_reading_daily') }}
    group by uprn, reading_month
),

property_months as (
    select
        uprn,
        month_start
    from repairs
    union
    select
        uprn,
        month_start
    from sensor_days
),

properties as (
    select * from {{ ref('dim_property') }}
),

final as (
    select
        md5(property_months.uprn || ':' || to_char(property_months.month_start, 'YYYY-MM'))
            as housing_condition_key,
        property_months.uprn,
        property_months.month_start,
        properties.lsoa_code,
        coalesce(properties.is_social_housing, false) as is_social_housing,
        coalesce(repairs.repairs_reported, 0) as repairs_reported,
        coalesce(repairs.damp_mould_repairs, 0) as damp_mould_repairs,
        coalesce(repairs.emergency_repairs, 0) as emergency_repairs,
        coalesce(sensor_days.sensor_days, 0) as sensor_days,
        coalesce(sensor_days.damp_days, 0) as damp_days,
        sensor_days.mean_relative_humidity,
        sensor_days.mean_temperature_c
    from property_months
    left join repairs
        on
            property_months.uprn = repairs.uprn
            and property_months.month_start = repairs.month_start
    left join sensor_days
        on
            property_months.uprn = sensor_days.uprn
            and property_months.month_start = sensor_days.month_start
    left join properties on property_months.uprn = properties.uprn
)

select * from final
