with

source as (
    select * from {{ source('raw_childrens_social_care', 'child_protection_plans') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'childrens_social_care'::text as body,
        trim(plan_id) as plan_id,
        child_id_token as person_ref_token,
        start_date,
        end_date,
        {{ standardise_code('category') }} as category
    from source
)

select * from renamed
