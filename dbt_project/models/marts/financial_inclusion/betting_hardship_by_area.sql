{#- Betting premises and financial hardship by area (LSOA), month and distance band from the
    nearest betting premises. Aggregate and published: person counts from 1 to 9 are suppressed
    (null, with a flag), with secondary suppression across the bands of an area and month so
    the 'all' band total cannot reveal a suppressed cell. Residents are the people the bodies
    that share for financial inclusion know at the homes (the housing provider's lead tenants,
    the council's revenues and benefits claimants): no other body is in its lineage. -#}
{%- set cell_group = 'lsoa_code, month_start' -%}
with

hardship as (
    select * from {{ ref('fct_financial_hardship') }}
),

banded_properties as (
    select * from {{ ref('int_property_months_banded') }}
),

months as (
    select distinct month_start from banded_properties
),

betting_premises as (
    select * from {{ ref('int_betting_premises_monthly') }}
),

residents as (
    select
        locations.person_key,
        locations.month_start,
        locations.uprn
    from {{ ref('int_person_months_located_for_financial_inclusion') }} as locations
    inner join months on locations.month_start = months.month_start
),

cells as (
    select
        banded_properties.lsoa_code,
        banded_properties.month_start,
        banded_properties.distance_band,
        count(distinct banded_properties.uprn)::integer as properties,
        count(distinct residents.person_key)::integer as residents,
        count(distinct hardship.person_key) filter (
            where hardship.is_in_financial_hardship
        )::integer as persons_in_hardship,
        count(distinct hardship.person_key) filter (
            where hardship.in_council_tax_arrears
        )::integer as persons_in_arrears
    from banded_properties
    left join residents
        on
            banded_properties.uprn = residents.uprn
            and banded_properties.month_start = residents.month_start
    left join hardship
        on
            banded_properties.uprn = hardship.uprn
            and banded_properties.month_start = hardship.month_start
    group by
        banded_properties.lsoa_code,
        banded_properties.month_start,
        banded_properties.distance_band
),

area_totals as (
    select
        banded_properties.lsoa_code,
        banded_properties.month_start,
        'all'::text as distance_band,
        count(distinct banded_properties.uprn)::integer as properties,
        count(distinct residents.person_key)::integer as residents,
        count(distinct hardship.person_key) filter (
            where hardship.is_in_financial_hardship
        )::integer as persons_in_hardship,
        count(distinct hardship.person_key) filter (
            where hardship.in_council_tax_arrears
        )::integer as persons_in_arrears
    from banded_properties
    left join residents
        on
            banded_properties.uprn = residents.uprn
            and banded_properties.month_start = residents.month_start
    left join hardship
        on
            banded_properties.uprn = hardship.uprn
            and banded_properties.month_start = hardship.month_start
    group by banded_properties.lsoa_code, banded_properties.month_start
),

flagged_cells as (
    select
        *,
        {{ small_count_suppressed('residents', cell_group, 'distance_band') }}
            as residents_suppressed,
        {{ small_count_suppressed('persons_in_hardship', cell_group, 'distance_band') }}
            as persons_in_hardship_suppressed,
        {{ small_count_suppressed('persons_in_arrears', cell_group, 'distance_band') }}
            as persons_in_arrears_suppressed
    from cells
),

flagged_totals as (
    select
        *,
        {{ small_count_primary('residents') }} as residents_suppressed,
        {{ small_count_primary('persons_in_hardship') }} as persons_in_hardship_suppressed,
        {{ small_count_primary('persons_in_arrears') }} as persons_in_arrears_suppressed
    from area_totals
),

flagged as (
    select * from flagged_cells
    union all
    select * from flagged_totals
),

premises_by_area as (
    select
        lsoa_code,
        month_start,
        count(distinct licence_number)::integer as betting_premises_in_area
    from betting_premises
    group by lsoa_code, month_start
),

areas as (
    select * from {{ ref('dim_area') }}
),

final as (
    select
        md5(
            flagged.lsoa_code || ':' || to_char(flagged.month_start, 'YYYY-MM') || ':'
            || flagged.distance_band
        ) as cell_key,
        flagged.lsoa_code,
        areas.ward_code,
        areas.local_authority_code,
        areas.imd_decile,
        flagged.month_start,
        flagged.distance_band,
        coalesce(premises_by_area.betting_premises_in_area, 0) as betting_premises_in_area,
        flagged.properties,
        case when not flagged.residents_suppressed then flagged.residents end as residents,
        flagged.residents_suppressed,
        case
            when not flagged.persons_in_hardship_suppressed then flagged.persons_in_hardship
        end as persons_in_hardship,
        flagged.persons_in_hardship_suppressed,
        case
            when not flagged.persons_in_arrears_suppressed then flagged.persons_in_arrears
        end as persons_in_arrears,
        flagged.persons_in_arrears_suppressed,
        case
            when not flagged.residents_suppressed and not flagged.persons_in_hardship_suppressed
                then round(flagged.persons_in_hardship::numeric / nullif(flagged.residents, 0), 3)
        end::numeric(6, 3) as hardship_rate,
        areas.lsoa_name,
        areas.ward_name
    from flagged
    left join premises_by_area
        on
            flagged.lsoa_code = premises_by_area.lsoa_code
            and flagged.month_start = premises_by_area.month_start
    left join areas on flagged.lsoa_code = areas.lsoa_code
)

select * from final
