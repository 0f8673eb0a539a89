{#- Each home's distance to the nearest betting premises (betting shop or adult gaming centre)
    granted and open in each month of the licensing register, and its distance band.

    Measuring every home against every premises grows as homes x premises, which is quadratic in
    the region's size. Instead each home takes its few nearest premises locations from the
    spatial index of int_betting_locations_indexed (k nearest neighbours, `<->` on a GiST
    index): whenever one of them is open in a month, the nearest open one is the answer (any
    other premises is at least as far). For the home-months where all of them are closed, an
    index search walks the locations outwards from the home to the first one open in that
    month. Both searches read the index, not every premises, so the model grows with the number
    of home-months. Distances are computed as before, on the gazetteer's numeric coordinates;
    the index's floating-point distance only orders the search. -#}
{{ config(pre_hook="set local work_mem = '128MB'") }}
{%- set candidate_locations = 4 -%}
with

licences as (
    select * from {{ ref('stg_licensing__premises_licences') }}
),

properties as (
    select * from {{ ref('dim_property') }}
),

-- Not materialised: each search below must read the table itself, through its index.
betting_locations as not materialized (
    select * from {{ ref('int_betting_locations_indexed') }}
),

months as (
    select distinct period_start as month_start from licences
),

months_with_premises as (
    select distinct unnest(open_months) as month_start from betting_locations
),

residential_properties as (
    select
        uprn,
        lsoa_code,
        easting,
        northing,
        point(easting::float8, northing::float8) as grid_point
    from properties
    where is_residential and lsoa_code is not null and easting is not null
),

candidate_locations as (
    select
        residential_properties.uprn,
        nearest.open_months,
        sqrt(
            power(residential_properties.easting - nearest.easting, 2)
            + power(residential_properties.northing - nearest.northing, 2)
        ) as distance_m
    from residential_properties
    cross join lateral (
        select
            betting_locations.easting,
            betting_locations.northing,
            betting_locations.open_months
        from betting_locations
        order by betting_locations.grid_point <-> residential_properties.grid_point
        limit {{ candidate_locations }}
    ) as nearest
),

nearest_open_candidate as (
    select
        candidate_locations.uprn,
        open_month.month_start,
        min(candidate_locations.distance_m) as distance_m
    from candidate_locations
    cross join lateral unnest(candidate_locations.open_months) as open_month (month_start)
    group by candidate_locations.uprn, open_month.month_start
),

-- The months each home's candidates answer, as one array per home: the home-months left for
-- the search below are found per home, with no join on (home, month) pairs to misplan.
answered_months as (
    select
        uprn,
        array_agg(month_start) as months
    from nearest_open_candidate
    group by uprn
),

home_months_without_open_candidate as (
    select
        residential_properties.uprn,
        residential_properties.easting,
        residential_properties.northing,
        residential_properties.grid_point,
        months_with_premises.month_start
    from residential_properties
    left join answered_months on residential_properties.uprn = answered_months.uprn
    cross join months_with_premises
    where not coalesce(months_with_premises.month_start = any(answered_months.months), false)
),

nearest_by_search as (
    select
        homes.uprn,
        homes.month_start,
        sqrt(
            power(homes.easting - nearest.easting, 2)
            + power(homes.northing - nearest.northing, 2)
        ) as distance_m
    from home_months_without_open_candidate as homes
    cross join lateral (
        select
            betting_locations.easting,
            betting_locations.northing
        from betting_locations
        where homes.month_start = any(betting_locations.open_months)
        order by betting_locations.grid_point <-> homes.grid_point
        limit 1
    ) as nearest
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
    from nearest_by_search
),

banded as (
    select
        residential_properties.uprn,
        months.month_start,
        residential_properties.lsoa_code,
        round(nearest_premises.distance_m::numeric, 1) as distance_m,
        case
            when nearest_premises.distance_m is null then 'no_premises'
            when nearest_premises.distance_m < 400 then '0000-0399m'
            when nearest_premises.distance_m < 800 then '0400-0799m'
            when nearest_premises.distance_m < 1600 then '0800-1599m'
            else '1600m_plus'
        end as distance_band
    from residential_properties
    cross join months
    left join nearest_premises
        on
            residential_properties.uprn = nearest_premises.uprn
            and months.month_start = nearest_premises.month_start
)

select * from banded
