with

source as (
    select * from {{ source('raw_reference', 'gazetteer') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        {{ standardise_uprn('uprn') }} as uprn,
        {{ clean_text('address_line') }} as address_line,
        initcap({{ clean_text('town') }}) as town,
        {{ standardise_postcode('postcode') }} as postcode,
        {{ postcode_district(standardise_postcode('postcode')) }} as postcode_district,
        {{ standardise_code('property_type') }} as property_type,
        upper(trim(lsoa_code)) as lsoa_code,
        {{ clean_text('lsoa_name') }} as lsoa_name,
        upper(trim(ward_code)) as ward_code,
        {{ clean_text('ward_name') }} as ward_name,
        upper(trim(local_authority_code)) as local_authority_code,
        {{ clean_text('local_authority_name') }} as local_authority_name,
        easting::numeric(10, 1) as easting,
        northing::numeric(10, 1) as northing
    from source
)

select * from renamed
