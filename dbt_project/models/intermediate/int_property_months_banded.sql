{#- Each home's distance to the nearest betting premises (betting shop or adult gaming centre)
    granted and open in each month of the licensing register, and its distance band.

    Measuring every home against every premises open in every month grows as homes x premises
    x months (85 million pairs at 100,000 residents). Instead each home keeps its ten nearest
    premises locations of the whole register: whenever one of them is open in a month, the
    nearest open one is the answer (any other premises is at least as far). Only the
    home-months where all ten are closed are measured against every premises open then. The
    result is the same as the exhaustive comparison. -#}
{{ config(pre_hook="set local work_mem = '128MB'") }}
{%- set candidate_locations = 10 -%}
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
        month_start,
        easting,
        northing
    from {{ ref('int_betting_premises_monthly') }}
    where easting is not null
),

premises_locations as (
    select distinct
        easting,
        northing
    from betting_premises
),

home_location_distances as (
    select
        residential_properties.uprn,
        premises_locations.easting,
        premises_locations.northing,
        sqrt(
            power(residential_properties.easting - premises_locations.easting, 2)
            + power(residential_properties.northing - premises_locations.northing, 2)
        ) as distance_m
    from residential_properties
    cross join premises_locations
),

candidate_locations as (
    select
        uprn,
        easting,
        northing,
        distance_m
    from (
        select
            *,
            row_number() over (partition by uprn order by distance_m) as nearness_rank
        from home_location_distances
    ) as ranked
    where nearness_rank <= {{ candidate_locations }}
),

nearest_open_candidate as (
    select
        candidate_locations.uprn,
        betting_premises.month_start,
        min(candidate_locations.distance_m) as distance_m
    from candidate_locations
    inner join betting_premises
        on
            candidate_locations.easting = betting_premises.easting
            and candidate_locations.northing = betting_premises.northing
    group by candidate_locations.uprn, betting_premises.month_start
),

home_months_without_open_candidate as materialized (
    select
        residential_properties.uprn,
        residential_properties.easting,
        residential_properties.northing,
        months.month_start
    from residential_properties
    cross join months
    left join nearest_open_candidate
        on
            residential_properties.uprn = nearest_open_candidate.uprn
            and months.month_start = nearest_open_candidate.month_start
    where nearest_open_candidate.uprn is null
),

nearest_by_full_comparison as (
    select
        homes.uprn,
        homes.month_start,
        min(
            sqrt(
                power(homes.easting - betting_premises.easting, 2)
                + power(homes.northing - betting_premises.northing, 2)
            )
        ) as distance_m
    from home_months_without_open_candidate as homes
    left join betting_premises on homes.month_start = betting_premises.month_start
    group by homes.uprn, homes.month_start
),

nearest_premises as (
    select
        uprn,
        month_start,
        distance_m
    from nearest_open_candidate
    union all
    select
        uprn,
        month_start,
        distance_m
    from nearest_by_full_comparison
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
