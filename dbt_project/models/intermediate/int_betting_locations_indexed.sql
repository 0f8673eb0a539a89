{#- Each distinct grid_point of betting premises (betting shop or adult gaming centre) in the
    licensing register, the months in which premises there were granted and open, and its point
    with a GiST index. int_property_months_banded finds each home's nearest premises through
    this index (a k-nearest-neighbour search), so its cost grows with the number of homes
    instead of homes x premises. -#}
{{ config(post_hook="create index on {{ this }} using gist (grid_point)") }}
with

betting_premises as (
    select * from {{ ref('int_betting_premises_monthly') }}
),

located as (
    select
        easting,
        northing,
        point(easting::float8, northing::float8) as grid_point,
        array_agg(distinct month_start order by month_start) as open_months
    from betting_premises
    where easting is not null
    group by easting, northing
)

select * from located
