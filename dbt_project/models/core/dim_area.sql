{#- One row per LSOA: its ward and local authority (from the latest gazetteer) and its
    deprivation (from the latest index of multiple deprivation). -#}
with

latest_gazetteer as (
    select gazetteer.*
    from {{ ref('stg_reference__gazetteer') }} as gazetteer
    where
        gazetteer.source_period = (
            select max(all_snapshots.source_period)
            from {{ ref('stg_reference__gazetteer') }} as all_snapshots
        )
),

areas as (
    select
        lsoa_code,
        mode() within group (order by lsoa_name) as lsoa_name,
        mode() within group (order by ward_code) as ward_code,
        mode() within group (order by ward_name) as ward_name,
        mode() within group (order by local_authority_code) as local_authority_code,
        mode() within group (order by local_authority_name) as local_authority_name,
        count(distinct uprn)::integer as properties
    from latest_gazetteer
    where lsoa_code is not null
    group by lsoa_code
),

deprivation as (
    select
        *,
        row_number() over (
            partition by lsoa_code order by source_period desc, loaded_at desc
        ) as recency_rank
    from {{ ref('stg_reference__deprivation') }}
),

final as (
    select
        areas.lsoa_code,
        areas.lsoa_name,
        areas.ward_code,
        areas.ward_name,
        areas.local_authority_code,
        areas.local_authority_name,
        areas.properties,
        deprivation.imd_score,
        deprivation.imd_rank,
        deprivation.imd_decile,
        deprivation.population
    from areas
    left join deprivation
        on
            areas.lsoa_code = deprivation.lsoa_code
            and deprivation.recency_rank = 1
)

select * from final
