with

source as (
    select * from {{ source('linkage', 'property_keys') }}
),

renamed as (
    select
        uprn,
        property_key
    from source
)

select * from renamed
