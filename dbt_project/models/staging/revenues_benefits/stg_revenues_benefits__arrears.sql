with

source as (
    select * from {{ source('raw_revenues_benefits', 'arrears') }}
),

renamed as (
    select
        {{ staging_lineage_columns() }},
        'revenues_benefits'::text as body,
        upper(trim(account_ref)) as account_ref,
        claimant_id_token as person_ref_token,
        date_of_birth_year as birth_year,
        {{ standardise_uprn('uprn') }} as uprn,
        balance::numeric(12, 2) as arrears_balance,
        months_in_arrears,
        {{ standardise_code('recovery_stage') }} as recovery_stage,
        snapshot_date
    from source
)

select * from renamed
