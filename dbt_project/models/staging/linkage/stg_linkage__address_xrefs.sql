with

source as (
    select * from {{ source('linkage', 'address_xref') }}
),

renamed as (
    select
        body,
        entity as source_entity,
        _delivery_id as delivery_id,
        _first_row_number as first_row_number,
        _source_row_numbers as source_row_numbers,
        person_ref_token,
        {{ standardise_uprn('uprn') }} as uprn,
        method as link_method,
        score::double precision as match_score
    from source
)

select * from renamed
