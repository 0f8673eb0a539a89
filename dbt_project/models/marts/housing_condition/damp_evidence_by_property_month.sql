{#- One row per social home per month of the housing provider's tenancy register: who lives
    there (household size on the tenancy), the damp evidence of the month (home sensor days
    and damp days, damp and mould repairs reported) and the residents' respiratory A&E
    attendances. The unit a study of damp and respiratory health and a damp alert need; what
    counts as damp is decided by the analysis (analytics/damp.py), not here. Record level,
    purpose-limited to housing condition: housing provider, home sensors, acute trust and the
    gazetteer only. -#}
with

tenancies as (
    select * from {{ ref('stg_housing_provider__tenancies') }}
),

occupied as (
    select
        uprn,
        period_start as month_start,
        max(household_size)::integer as household_size
    from tenancies
    where
        uprn is not null
        and (end_date is null or end_date >= period_start)
    group by uprn, period_start
),

condition as (
    select * from {{ ref('fct_housing_condition') }}
),

respiratory as (
    select
        uprn,
        attendance_month as month_start,
        (count(*) filter (where is_respiratory))::integer as respiratory_attendances
    from {{ ref('fct_ae_attendance') }}
    where uprn is not null
    group by uprn, attendance_month
),

properties as (
    select * from {{ ref('dim_property') }}
),

areas as (
    select * from {{ ref('dim_area') }}
),

final as (
    select
        occupied.uprn,
        occupied.month_start,
        properties.lsoa_code,
        areas.lsoa_name,
        properties.ward_code,
        areas.ward_name,
        areas.imd_decile,
        occupied.household_size,
        coalesce(condition.sensor_days, 0) as sensor_days,
        coalesce(condition.damp_days, 0) as damp_days,
        condition.mean_relative_humidity,
        coalesce(condition.damp_mould_repairs, 0) as damp_mould_repairs,
        coalesce(respiratory.respiratory_attendances, 0) as respiratory_attendances
    from occupied
    left join condition
        on
            occupied.uprn = condition.uprn
            and occupied.month_start = condition.month_start
    left join respiratory
        on
            occupied.uprn = respiratory.uprn
            and occupied.month_start = respiratory.month_start
    left join properties on occupied.uprn = properties.uprn
    left join areas on properties.lsoa_code = areas.lsoa_code
)

select * from final
