with

source as (
    select * from {{ source('raw_housing_provider', 'repairs') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'housing_provider'::text as body,
        upper(trim(job_id)) as job_id,
        {{ standardise_uprn('uprn') }} as uprn,
        reported_at,
        reported_at::date as reported_date,
        {{ standardise_code('category') }} as category,
        {{ standardise_code('priority') }} as priority,
        completed_at
    from source
)

select * from renamed
