with

source as (
    select * from {{ source('raw_childrens_social_care', 'referrals') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'childrens_social_care'::text as body,
        trim(referral_id) as referral_id,
        child_id_token as person_ref_token,
        dob_year as birth_year,
        {{ standardise_sex('gender') }} as sex_code,
        {{ standardise_uprn('uprn') }} as uprn,
        referral_date,
        {{ standardise_code('referral_source') }} as referral_source,
        {{ standardise_code('primary_need') }} as primary_need
    from source
)

select * from renamed
