with

source as (
    select * from {{ source('raw_housing_provider', 'tenancies') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'housing_provider'::text as body,
        upper(trim(tenancy_ref)) as tenancy_ref,
        tenant_id_token as person_ref_token,
        date_of_birth_year as birth_year,
        {{ standardise_uprn('uprn') }} as uprn,
        start_date,
        end_date,
        {{ standardise_code('tenure_type') }} as tenure_type,
        household_size
    from source
)

select * from renamed
