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

-- A search in a month when no premises is open would walk every location to find none.
-- Materialised: inlined, the planner put this (a scan of the licence register) inside the
-- per-home lateral below and ran it once per home (at a million residents, 506,427 times).
register_months as materialized (
    select
        months.month_start,
        months_with_premises.month_start is not null as has_open_premises
    from months
    left join months_with_premises on months.month_start = months_with_premises.month_start
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

-- Everything below is per home: its few nearest locations, the nearest open one each month
-- (from them, or by a search), and its row for every month. Joining all home-months to their
-- answers by (home, month) sorted or hashed them all at once, which spilled to disk and grew
-- faster than the region (7.9 s at 100k residents, 245 s at 1M).
home_months as (
    select
        residential_properties.uprn,
        residential_properties.lsoa_code,
        by_month.month_start,
        by_month.distance_m
    from residential_properties
    cross join lateral (
        select
            register_months.month_start,
            coalesce(nearest_open_candidate.distance_m, nearest_by_search.distance_m)
                as distance_m
        from register_months
        left join (
            select
                open_month.month_start,
                min(candidates.distance_m) as distance_m
            from (
                select
                    betting_locations.open_months,
                    {{ grid_distance_m('residential_properties', 'betting_locations') }}
                        as distance_m
                from betting_locations
                order by betting_locations.grid_point <-> residential_properties.grid_point
                limit {{ candidate_locations }}
            ) as candidates
            cross join lateral unnest(candidates.open_months) as open_month (month_start)
            group by open_month.month_start
        ) as nearest_open_candidate
            on register_months.month_start = nearest_open_candidate.month_start
        left join lateral (
            select
                {{ grid_distance_m('residential_properties', 'betting_locations') }}
                    as distance_m
            from betting_locations
            where
                register_months.has_open_premises
                and nearest_open_candidate.month_start is null
                and register_months.month_start = any(betting_locations.open_months)
            order by betting_locations.grid_point <-> residential_properties.grid_point
            limit 1
        ) as nearest_by_search on true
    ) as by_month
),

banded as (
    select
        uprn,
        month_start,
        lsoa_code,
        round(distance_m::numeric, 1) as distance_m,
        case
            when distance_m is null then 'no_premises'
            when distance_m < 400 then '0000-0399m'
            when distance_m < 800 then '0400-0799m'
            when distance_m < 1600 then '0800-1599m'
            else '1600m_plus'
        end as distance_band
    from home_months
)

select * from banded
