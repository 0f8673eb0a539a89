with

source as (
    select * from {{ source('raw_police', 'incidents') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'police'::text as body,
        upper(trim(incident_no)) as incident_no,
        nominal_id_token as person_ref_token,
        dob_year as birth_year,
        {{ standardise_sex('sex') }} as sex_code,
        incident_at,
        incident_at::date as incident_date,
        {{ standardise_code('incident_type') }} as incident_type,
        {{ standardise_code('involvement') }} as involvement,
        {{ standardise_code('risk_grade') }} as risk_grade
    from source
)

select * from renamed
