{#- Damp risk of each residential property with sensor, repair or A&E evidence: measured damp
    in the last 3 months, damp and mould repairs and residents' respiratory A&E attendances
    in the last 12 months, combined in a score from 0 to 1 and a band. The windows end on
    var('as_of_date'), else the latest A&E attendance or sensor reading: housing-condition
    evidence only, so no body that does not share for housing condition is in its lineage. -#}
{%- set evidence_dates = [
    ('fct_ae_attendance', 'attendance_date'),
    ('fct_sensor_reading_daily', 'reading_date'),
] -%}
with

window_bounds as (
    select
        {{ as_of_date(evidence_dates) }} as as_of_date,
        ({{ as_of_date(evidence_dates) }} - interval '3 months')::date
            as sensor_window_start_date,
        ({{ as_of_date(evidence_dates) }} - interval '12 months')::date as window_start_date
),

sensor_evidence as (
    select
        daily.uprn,
        count(*)::integer as sensor_days_3m,
        (count(*) filter (where daily.is_damp_day))::integer as damp_days_3m,
        round(avg(daily.mean_relative_humidity), 2)::numeric(5, 2) as mean_relative_humidity_3m
    from {{ ref('fct_sensor_reading_daily') }} as daily
    cross join window_bounds
    where
        daily.reading_date > window_bounds.sensor_window_start_date
        and daily.reading_date <= window_bounds.as_of_date
    group by daily.uprn
),

repair_evidence as (
    select
        condition.uprn,
        sum(condition.repairs_reported)::integer as repairs_12m,
        sum(condition.damp_mould_repairs)::integer as damp_mould_repairs_12m
    from {{ ref('fct_housing_condition') }} as condition
    cross join window_bounds
    where
        condition.month_start > window_bounds.window_start_date
        and condition.month_start <= window_bounds.as_of_date
    group by condition.uprn
),

health_evidence as (
    select
        attendances.uprn,
        (count(*) filter (where attendances.is_respiratory))::integer
            as respiratory_attendances_12m
    from {{ ref('fct_ae_attendance') }} as attendances
    cross join window_bounds
    where
        attendances.uprn is not null
        and attendances.attendance_date > window_bounds.window_start_date
        and attendances.attendance_date <= window_bounds.as_of_date
    group by attendances.uprn
),

evidence as (
    select uprn from sensor_evidence
    union
    select uprn from repair_evidence
    union
    select uprn from health_evidence
),

properties as (
    select * from {{ ref('dim_property') }}
),

areas as (
    select * from {{ ref('dim_area') }}
),

scored as (
    select
        evidence.uprn,
        window_bounds.as_of_date,
        properties.lsoa_code,
        properties.ward_code,
        areas.imd_decile,
        coalesce(properties.is_social_housing, false) as is_social_housing,
        sensor_evidence.uprn is not null as has_home_sensor,
        coalesce(sensor_evidence.sensor_days_3m, 0) as sensor_days_3m,
        coalesce(sensor_evidence.damp_days_3m, 0) as damp_days_3m,
        sensor_evidence.mean_relative_humidity_3m,
        coalesce(repair_evidence.repairs_12m, 0) as repairs_12m,
        coalesce(repair_evidence.damp_mould_repairs_12m, 0) as damp_mould_repairs_12m,
        coalesce(health_evidence.respiratory_attendances_12m, 0) as respiratory_attendances_12m,
        round(
            0.5 * coalesce(
                sensor_evidence.damp_days_3m::numeric / nullif(sensor_evidence.sensor_days_3m, 0),
                0
            )
            + 0.3 * least(coalesce(repair_evidence.damp_mould_repairs_12m, 0), 3) / 3.0
            + 0.2 * least(coalesce(health_evidence.respiratory_attendances_12m, 0), 2) / 2.0,
            3
        )::numeric(4, 3) as damp_risk_score
    from evidence
    cross join window_bounds
    left join sensor_evidence on evidence.uprn = sensor_evidence.uprn
    left join repair_evidence on evidence.uprn = repair_evidence.uprn
    left join health_evidence on evidence.uprn = health_evidence.uprn
    left join properties on evidence.uprn = properties.uprn
    left join areas on properties.lsoa_code = areas.lsoa_code
    where coalesce(properties.is_residential, true)
),

final as (
    select
        scored.*,
        case
            when scored.damp_risk_score >= 0.5 then 'high'
            when scored.damp_risk_score >= 0.2 then 'medium'
            else 'low'
        end as damp_risk_band,
        areas.lsoa_name,
        areas.ward_name
    from scored
    left join areas on scored.lsoa_code = areas.lsoa_code
)

select * from final
