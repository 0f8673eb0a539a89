{#- Betting premises and financial hardship by area (LSOA), month and distance band from the
    nearest betting premises. Aggregate and published: person counts are perturbed by their
    cell keys (ONS cell-key perturbation, quality/perturbation.py), those under the threshold
    are suppressed (null, with a flag), with secondary suppression across the bands of an area
    and month so the 'all' band total cannot reveal a suppressed cell. Residents are the people the bodies
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

-- Each home is in one band a month (int_property_months_banded is unique on home and month),
-- so a cell's properties are its rows and an area's are its bands' sum.
property_counts as (
    select
        lsoa_code,
        month_start,
        distance_band,
        count(*)::integer as properties
    from banded_properties
    group by lsoa_code, month_start, distance_band
),

area_property_counts as (
    select
        lsoa_code,
        month_start,
        'all'::text as distance_band,
        sum(properties)::integer as properties
    from property_counts
    group by lsoa_code, month_start
),

counted_people as (
    -- Who each cell counts, once per cell and measure: their record keys make the cell key.
    select
        banded_properties.lsoa_code,
        banded_properties.month_start,
        banded_properties.distance_band,
        'residents' as measure,
        residents.person_key
    from banded_properties
    inner join residents
        on
            banded_properties.uprn = residents.uprn
            and banded_properties.month_start = residents.month_start
    union
    select
        banded_properties.lsoa_code,
        banded_properties.month_start,
        banded_properties.distance_band,
        case
            when measures.measure = 'hardship' then 'persons_in_hardship'
            else 'persons_in_arrears'
        end as measure,
        hardship.person_key
    from banded_properties
    inner join hardship
        on
            banded_properties.uprn = hardship.uprn
            and banded_properties.month_start = hardship.month_start
    cross join (values ('hardship'), ('arrears')) as measures (measure)
    where
        hardship.person_key is not null
        and (
            (measures.measure = 'hardship' and hardship.is_in_financial_hardship)
            or (measures.measure = 'arrears' and hardship.in_council_tax_arrears)
        )
),

area_people as (
    select distinct
        lsoa_code,
        month_start,
        'all'::text as distance_band,
        measure,
        person_key
    from counted_people
),

-- A cell's people once per measure, so its counts are counts of their keys; the home-months
-- are joined to people once (counted_people), not again per count and per area total, which
-- sorted every home-month four times more.
people_counts as (
    select
        lsoa_code,
        month_start,
        distance_band,
        count(person_key) filter (where measure = 'residents')::integer as residents,
        count(person_key) filter (
            where measure = 'persons_in_hardship'
        )::integer as persons_in_hardship,
        count(person_key) filter (
            where measure = 'persons_in_arrears'
        )::integer as persons_in_arrears,
        sum(case when measure = 'residents' then {{ record_key('person_key') }} end)::integer
        % 256 as residents_cell_key,
        sum(
            case when measure = 'persons_in_hardship' then {{ record_key('person_key') }} end
        )::integer % 256 as persons_in_hardship_cell_key,
        sum(
            case when measure = 'persons_in_arrears' then {{ record_key('person_key') }} end
        )::integer % 256 as persons_in_arrears_cell_key
    from (
        select * from counted_people
        union all
        select * from area_people
    ) as people
    group by lsoa_code, month_start, distance_band
),

counts as (
    select
        property_counts.lsoa_code,
        property_counts.month_start,
        property_counts.distance_band,
        property_counts.properties,
        coalesce(people_counts.residents, 0) as residents,
        coalesce(people_counts.persons_in_hardship, 0) as persons_in_hardship,
        coalesce(people_counts.persons_in_arrears, 0) as persons_in_arrears,
        people_counts.residents_cell_key,
        people_counts.persons_in_hardship_cell_key,
        people_counts.persons_in_arrears_cell_key
    from (
        select * from property_counts
        union all
        select * from area_property_counts
    ) as property_counts
    left join people_counts
        on
            property_counts.lsoa_code = people_counts.lsoa_code
            and property_counts.month_start = people_counts.month_start
            and property_counts.distance_band = people_counts.distance_band
),

perturbed as (
    select
        lsoa_code,
        month_start,
        distance_band,
        properties,
        residents,
        persons_in_hardship,
        persons_in_arrears,
        {{ perturbed_count('residents', 'coalesce(residents_cell_key, 0)') }}
            as residents_perturbed,
        {{ perturbed_count(
            'persons_in_hardship', 'coalesce(persons_in_hardship_cell_key, 0)'
        ) }} as persons_in_hardship_perturbed,
        {{ perturbed_count(
            'persons_in_arrears', 'coalesce(persons_in_arrears_cell_key, 0)'
        ) }} as persons_in_arrears_perturbed
    from counts
),

flagged_cells as (
    select
        *,
        {{ small_count_suppressed(
            'residents', cell_group, 'distance_band', perturbed='residents_perturbed'
        ) }} as residents_suppressed,
        {{ small_count_suppressed(
            'persons_in_hardship', cell_group, 'distance_band',
            perturbed='persons_in_hardship_perturbed'
        ) }} as persons_in_hardship_suppressed,
        {{ small_count_suppressed(
            'persons_in_arrears', cell_group, 'distance_band',
            perturbed='persons_in_arrears_perturbed'
        ) }} as persons_in_arrears_suppressed
    from perturbed
    where distance_band <> 'all'
),

flagged_totals as (
    select
        *,
        {{ small_count_primary('residents', 'residents_perturbed') }} as residents_suppressed,
        {{ small_count_primary('persons_in_hardship', 'persons_in_hardship_perturbed') }}
            as persons_in_hardship_suppressed,
        {{ small_count_primary('persons_in_arrears', 'persons_in_arrears_perturbed') }}
            as persons_in_arrears_suppressed
    from perturbed
    where distance_band = 'all'
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
        case
            when not flagged.residents_suppressed then flagged.residents_perturbed
        end as residents,
        flagged.residents_suppressed,
        case
            when not flagged.persons_in_hardship_suppressed
                then flagged.persons_in_hardship_perturbed
        end as persons_in_hardship,
        flagged.persons_in_hardship_suppressed,
        case
            when not flagged.persons_in_arrears_suppressed
                then flagged.persons_in_arrears_perturbed
        end as persons_in_arrears,
        flagged.persons_in_arrears_suppressed,
        -- Of the published (perturbed) counts: a rate of the true ones would give them away.
        case
            when not flagged.residents_suppressed and not flagged.persons_in_hardship_suppressed
                then round(
                    flagged.persons_in_hardship_perturbed::numeric
                    / nullif(flagged.residents_perturbed, 0),
                    3
                )
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
