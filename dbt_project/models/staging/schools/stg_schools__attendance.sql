with

source as (
    select * from {{ source('raw_schools', 'attendance') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'schools'::text as body,
        upn_token as person_ref_token,
        dob_year as birth_year,
        {{ standardise_sex('gender') }} as sex_code,
        upper(trim(school_urn)) as school_urn,
        {{ period_start('trim(month)') }} as attendance_month,
        sessions_possible,
        sessions_attended,
        unauthorised_absences
    from source
)

select * from renamed
