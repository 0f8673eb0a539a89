with

source as (
    select * from {{ source('quality', 'perturbation_table') }}
),

renamed as (
    select
        pcv,
        ckey,
        pvalue
    from source
)

select * from renamed
