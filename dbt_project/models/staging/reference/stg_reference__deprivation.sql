with

source as (
    select * from {{ source('raw_reference', 'deprivation') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        upper(trim(lsoa_code)) as lsoa_code,
        imd_score::numeric(8, 3) as imd_score,
        imd_rank,
        imd_decile,
        population
    from source
)

select * from renamed
