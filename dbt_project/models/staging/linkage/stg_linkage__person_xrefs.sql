with

source as (
    select * from {{ source('linkage', 'person_xref') }}
),

renamed as (
    select
        body,
        person_ref_token,
        person_key,
        method as link_method,
        match_probability::double precision as match_probability
    from source
)

select * from renamed
