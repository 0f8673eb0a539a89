with

source as (
    select * from {{ source('raw_schools', 'exclusions') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'schools'::text as body,
        upper(trim(exclusion_id)) as exclusion_id,
        upn_token as person_ref_token,
        upper(trim(school_urn)) as school_urn,
        start_date,
        {{ standardise_code('exclusion_type') }} as exclusion_type,
        sessions,
        {{ standardise_code('reason') }} as reason
    from source
)

select * from renamed
