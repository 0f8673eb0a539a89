{#- One row per home per month of the licensing register: whether anyone living there was in
    financial hardship (council tax support or arrears) that month, whether that began this
    month, and how far the nearest betting premises that opened during the register lies and
    how many months ago it opened. The unit an event study of new premises needs. Record level
    (a home is one row), purpose-limited to financial inclusion: from revenues and benefits,
    licensing and the gazetteer only. -#}
with

properties as (
    select * from {{ ref('dim_property') }}
),

areas as (
    select * from {{ ref('dim_area') }}
),

-- A UPRN is a public address identifier: the mart carries the keyed property key instead.
property_keys as (
    select * from {{ ref('stg_linkage__property_keys') }}
),

months as (
    select distinct month_start from {{ ref('int_property_months_banded') }}
),

-- Each month beside the one before it in the register, to look up a home's hardship last month.
months_with_previous as (
    select
        month_start,
        lag(month_start) over (order by month_start) as previous_month_start
    from months
),

-- Premises that opened during the register (first seen after its first month), by location.
-- Not materialised: the search below must read the table itself, through its partial index.
new_premises_locations as not materialized (
    select * from {{ ref('int_betting_locations_indexed') }}
    where new_premises_opened_month is not null
),

homes as (
    select
        uprn,
        lsoa_code,
        ward_code,
        easting,
        northing
    from properties
    where is_residential and lsoa_code is not null and easting is not null
),

-- The nearest new premises (the earliest opened at equal distance), among each home's few
-- nearest new premises locations from the spatial index: not every home x every premises.
-- Distances are computed on the four found: in the search, a table of few locations is read
-- whole and every location's distance would be computed before the four are kept.
nearest_new_premises as (
    select distinct on (homes.uprn)
        homes.uprn,
        nearest.opened_month,
        {{ grid_distance_m('homes', 'nearest') }} as distance_m
    from homes
    cross join
        lateral (
            select
                new_premises_locations.new_premises_opened_month as opened_month,
                new_premises_locations.easting,
                new_premises_locations.northing
            from new_premises_locations
            order by
                new_premises_locations.grid_point
                <-> point(homes.easting::float8, homes.northing::float8)
            limit 4
        ) as nearest
    order by homes.uprn asc, distance_m asc, nearest.opened_month asc
),

hardship_by_home as (
    select
        uprn,
        month_start,
        (count(distinct person_key) filter (where is_in_financial_hardship))::integer
            as persons_in_hardship
    from {{ ref('fct_financial_hardship') }}
    where uprn is not null
    group by uprn, month_start
),

-- Each home's months in hardship as two arrays, read by month below: joining home-months to
-- hardship by (home, month) and a window over them sorted every home-month (on disk).
hardship_months_by_home as (
    select
        uprn,
        array_agg(month_start order by month_start) as months,
        array_agg(persons_in_hardship order by month_start) as persons_in_hardship
    from hardship_by_home
    group by uprn
),

home_months as (
    select
        homes.uprn,
        months_with_previous.month_start,
        homes.lsoa_code,
        homes.ward_code,
        coalesce(
            hardship_months_by_home.persons_in_hardship[
                array_position(hardship_months_by_home.months, months_with_previous.month_start)
            ],
            0
        ) as persons_in_hardship,
        case
            when months_with_previous.previous_month_start is not null
                then coalesce(
                    hardship_months_by_home.persons_in_hardship[
                        array_position(
                            hardship_months_by_home.months,
                            months_with_previous.previous_month_start
                        )
                    ],
                    0
                ) > 0
        end as household_in_hardship_last_month
    from homes
    left join hardship_months_by_home on homes.uprn = hardship_months_by_home.uprn
    cross join months_with_previous
),

flagged as (
    select
        *,
        persons_in_hardship > 0 as household_in_hardship
    from home_months
),

final as (
    select
        property_keys.property_key,
        flagged.month_start,
        flagged.lsoa_code,
        areas.lsoa_name,
        flagged.ward_code,
        areas.ward_name,
        areas.imd_decile,
        flagged.persons_in_hardship,
        flagged.household_in_hardship,
        case
            when flagged.household_in_hardship_last_month is not null
                then flagged.household_in_hardship and not flagged.household_in_hardship_last_month
        end as hardship_onset,
        round(nearest_new_premises.distance_m::numeric, 1)::numeric(9, 1)
            as nearest_new_premises_distance_m,
        nearest_new_premises.opened_month as nearest_new_premises_opened_month,
        (
            12 * (
                extract(year from flagged.month_start)
                - extract(year from nearest_new_premises.opened_month)
            )
            + extract(month from flagged.month_start)
            - extract(month from nearest_new_premises.opened_month)
        )::integer as months_since_nearest_new_premises_opened
    from flagged
    left join nearest_new_premises on flagged.uprn = nearest_new_premises.uprn
    left join areas on flagged.lsoa_code = areas.lsoa_code
    left join property_keys on flagged.uprn = property_keys.uprn
)

select * from final
