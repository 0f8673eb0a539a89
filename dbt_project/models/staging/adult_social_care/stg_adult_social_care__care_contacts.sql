with

source as (
    select * from {{ source('raw_adult_social_care', 'care_contacts') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'adult_social_care'::text as body,
        trim(contact_id) as contact_id,
        client_ref_token as person_ref_token,
        {{ valid_nhs_number_token('nhs_number') }} as nhs_number_token,
        coalesce(nhs_number_is_valid, false) as nhs_number_is_valid,
        date_of_birth_year as birth_year,
        {{ standardise_sex('sex') }} as sex_code,
        {{ standardise_uprn('uprn') }} as uprn,
        contact_date,
        {{ standardise_code('contact_type') }} as contact_type,
        {{ standardise_code('service') }} as service
    from source
)

select * from renamed
