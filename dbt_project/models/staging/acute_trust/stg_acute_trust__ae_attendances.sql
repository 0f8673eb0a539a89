with

source as (
    select * from {{ source('raw_acute_trust', 'ae_attendances') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'acute_trust'::text as body,
        trim(attendance_id) as attendance_id,
        mrn_token as person_ref_token,
        {{ valid_nhs_number_token('nhs_number') }} as nhs_number_token,
        coalesce(nhs_number_is_valid, false) as nhs_number_is_valid,
        date_of_birth_year as birth_year,
        {{ standardise_sex('sex') }} as sex_code,
        arrived_at,
        arrived_at::date as arrival_date,
        {{ standardise_code('diagnosis_group') }} as diagnosis_group,
        acuity,
        {{ standardise_code('disposal') }} as disposal
    from source
)

select * from renamed
