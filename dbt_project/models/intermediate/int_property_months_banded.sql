{#- Each home's distance to the nearest betting premises (betting shop or adult gaming centre)
    granted and open in each month of the licensing register, and its distance band. -#}
with

licences as (
    select * from {{ ref('stg_licensing__premises_licences') }}
),

properties as (
    select * from {{ ref('dim_property') }}
),

months as (
    select distinct period_start as month_start from licences
),

residential_properties as (
    select
        uprn,
        lsoa_code,
        easting,
        northing
    from properties
    where is_residential and lsoa_code is not null and easting is not null
),

betting_premises as (
    select
        licences.period_start as month_start,
        licences.licence_number,
        properties.lsoa_code,
        properties.easting,
        properties.northing
    from licences
    inner join properties on licences.uprn = properties.uprn
    where
        licences.licence_type in ('betting_shop', 'adult_gaming_centre')
        and licences.licence_status = 'granted'
        and licences.opening_date < (licences.period_start + interval '1 month')
        and properties.easting is not null
),

nearest_premises as (
    select
        residential_properties.uprn,
        months.month_start,
        min(
            sqrt(
                power(residential_properties.easting - betting_premises.easting, 2)
                + power(residential_properties.northing - betting_premises.northing, 2)
            )
        ) as distance_m
    from residential_properties
    cross join months
    left join betting_premises on months.month_start = betting_premises.month_start
    group by residential_properties.uprn, months.month_start
),

banded as (
    select
        nearest_premises.uprn,
        nearest_premises.month_start,
        residential_properties.lsoa_code,
        round(nearest_premises.distance_m::numeric, 1) as distance_m,
        case
            when nearest_premises.distance_m is null then 'no_premises'
            when nearest_premises.distance_m < 400 then '0000-0399m'
            when nearest_premises.distance_m < 800 then '0400-0799m'
            when nearest_premises.distance_m < 1600 then '0800-1599m'
            else '1600m_plus'
        end as distance_band
    from nearest_premises
    inner join residential_properties on nearest_premises.uprn = residential_properties.uprn
)

select * from banded
