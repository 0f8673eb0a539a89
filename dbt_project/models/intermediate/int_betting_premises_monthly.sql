{#- Betting premises (betting shops and adult gaming centres) granted and open in each month
    of the licensing register, with their area and coordinates. -#}
with

licences as (
    select * from {{ ref('stg_licensing__premises_licences') }}
),

properties as (
    select * from {{ ref('dim_property') }}
),

betting_premises as (
    select
        licences.period_start as month_start,
        licences.licence_number,
        properties.lsoa_code,
        properties.easting,
        properties.northing
    from licences
    left join properties on licences.uprn = properties.uprn
    where
        licences.licence_type in ('betting_shop', 'adult_gaming_centre')
        and licences.licence_status = 'granted'
        and licences.opening_date < (licences.period_start + interval '1 month')
)

select * from betting_premises
