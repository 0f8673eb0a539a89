with

source as (
    select * from {{ source('raw_licensing', 'premises_licences') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'licensing'::text as body,
        upper(trim(licence_number)) as licence_number,
        {{ clean_text('premises_name') }} as premises_name,
        {{ standardise_code('licence_type') }} as licence_type,
        {{ standardise_uprn('uprn') }} as uprn,
        {{ standardise_postcode('postcode') }} as postcode,
        opening_date,
        {{ standardise_code('status') }} as licence_status
    from source
)

select * from renamed
