with

source as (
    select * from {{ source('raw_childrens_social_care', 'assessments') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'childrens_social_care'::text as body,
        trim(assessment_id) as assessment_id,
        trim(referral_id) as referral_id,
        child_id_token as person_ref_token,
        start_date,
        end_date,
        {{ standardise_code('outcome') }} as outcome
    from source
)

select * from renamed
