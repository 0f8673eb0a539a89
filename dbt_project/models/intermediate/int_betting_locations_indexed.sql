{#- Each distinct location of betting premises (betting shop or adult gaming centre) in the
    licensing register, the months in which premises there were granted and open, the month the
    first premises there that opened during the register (a new premises) was first seen, and
    its point with GiST indexes. int_property_months_banded and hardship_by_property_month find
    each home's nearest premises through these indexes (a k-nearest-neighbour search), so their
    cost grows with the number of homes instead of homes x premises. -#}
{{ config(post_hook=[
    "create index on {{ this }} using gist (grid_point)",
    "create index on {{ this }} using gist (grid_point)"
    ~ " where new_premises_opened_month is not null",
]) }}
with

betting_premises as (
    select * from {{ ref('int_betting_premises_monthly') }}
),

first_register_month as (
    select min(month_start) as month_start from betting_premises
),

open_locations as (
    select
        easting,
        northing,
        array_agg(distinct month_start order by month_start) as open_months
    from betting_premises
    where easting is not null
    group by easting, northing
),

-- Premises first seen after the register's first month opened during the period.
new_premises as (
    select
        licence_number,
        min(month_start) as opened_month,
        min(easting) as easting,
        min(northing) as northing
    from betting_premises
    where easting is not null
    group by licence_number
    having min(month_start) > (select first_register_month.month_start from first_register_month)
),

new_premises_locations as (
    select
        easting,
        northing,
        min(opened_month) as opened_month
    from new_premises
    group by easting, northing
),

located as (
    select
        coalesce(open_locations.easting, new_premises_locations.easting) as easting,
        coalesce(open_locations.northing, new_premises_locations.northing) as northing,
        point(
            coalesce(open_locations.easting, new_premises_locations.easting)::float8,
            coalesce(open_locations.northing, new_premises_locations.northing)::float8
        ) as grid_point,
        coalesce(open_locations.open_months, '{}') as open_months,
        new_premises_locations.opened_month as new_premises_opened_month
    from open_locations
    full outer join new_premises_locations
        on
            open_locations.easting = new_premises_locations.easting
            and open_locations.northing = new_premises_locations.northing
)

select * from located
