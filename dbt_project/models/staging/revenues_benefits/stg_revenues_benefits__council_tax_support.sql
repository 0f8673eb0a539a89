with

source as (
    select * from {{ source('raw_revenues_benefits', 'council_tax_support') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'revenues_benefits'::text as body,
        upper(trim(claim_ref)) as claim_ref,
        claimant_id_token as person_ref_token,
        date_of_birth_year as birth_year,
        {{ standardise_uprn('uprn') }} as uprn,
        award_start,
        weekly_award::numeric(10, 2) as weekly_award,
        {{ standardise_code('status') }} as claim_status
    from source
)

select * from renamed
