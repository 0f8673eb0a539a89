{#- Every delivered person-bearing record, with its regional person key and property.
    The key comes from identity resolution (linkage.person_xref); a record linkage has not
    keyed yet gets an interim key, 'interim:' || md5(body:token), so the model always builds. -#}
with

ae_attendances as (
    select
        body,
        'ae_attendances'::text as source_entity,
        attendance_id as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        sex_code,
        nhs_number_token,
        arrival_date as record_date,
        null::text as given_uprn
    from {{ ref('stg_acute_trust__ae_attendances') }}
),

care_contacts as (
    select
        body,
        'care_contacts'::text as source_entity,
        contact_id as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        sex_code,
        nhs_number_token,
        contact_date as record_date,
        uprn as given_uprn
    from {{ ref('stg_adult_social_care__care_contacts') }}
),

referrals as (
    select
        body,
        'referrals'::text as source_entity,
        referral_id as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        sex_code,
        null::text as nhs_number_token,
        referral_date as record_date,
        uprn as given_uprn
    from {{ ref('stg_childrens_social_care__referrals') }}
),

assessments as (
    select
        body,
        'assessments'::text as source_entity,
        assessment_id as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        null::integer as birth_year,
        null::text as sex_code,
        null::text as nhs_number_token,
        start_date as record_date,
        null::text as given_uprn
    from {{ ref('stg_childrens_social_care__assessments') }}
),

child_protection_plans as (
    select
        body,
        'child_protection_plans'::text as source_entity,
        plan_id as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        null::integer as birth_year,
        null::text as sex_code,
        null::text as nhs_number_token,
        start_date as record_date,
        null::text as given_uprn
    from {{ ref('stg_childrens_social_care__child_protection_plans') }}
),

tenancies as (
    select
        body,
        'tenancies'::text as source_entity,
        tenancy_ref as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        null::text as sex_code,
        null::text as nhs_number_token,
        greatest(start_date, period_start) as record_date,
        uprn as given_uprn
    from {{ ref('stg_housing_provider__tenancies') }}
),

incidents as (
    select
        body,
        'incidents'::text as source_entity,
        incident_no || ':' || person_ref_token as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        sex_code,
        null::text as nhs_number_token,
        incident_date as record_date,
        null::text as given_uprn
    from {{ ref('stg_police__incidents') }}
),

council_tax_support as (
    select
        body,
        'council_tax_support'::text as source_entity,
        claim_ref as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        null::text as sex_code,
        null::text as nhs_number_token,
        period_start as record_date,
        uprn as given_uprn
    from {{ ref('stg_revenues_benefits__council_tax_support') }}
),

arrears as (
    select
        body,
        'arrears'::text as source_entity,
        account_ref as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        null::text as sex_code,
        null::text as nhs_number_token,
        period_start as record_date,
        uprn as given_uprn
    from {{ ref('stg_revenues_benefits__arrears') }}
),

housing_benefit as (
    select
        body,
        'housing_benefit'::text as source_entity,
        claim_ref as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        null::text as sex_code,
        null::text as nhs_number_token,
        period_start as record_date,
        uprn as given_uprn
    from {{ ref('stg_revenues_benefits__housing_benefit') }}
),

attendance as (
    select
        body,
        'attendance'::text as source_entity,
        school_urn || ':' || to_char(attendance_month, 'YYYY-MM') as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        birth_year,
        sex_code,
        null::text as nhs_number_token,
        attendance_month as record_date,
        null::text as given_uprn
    from {{ ref('stg_schools__attendance') }}
),

exclusions as (
    select
        body,
        'exclusions'::text as source_entity,
        exclusion_id as record_id,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at,
        person_ref_token,
        null::integer as birth_year,
        null::text as sex_code,
        null::text as nhs_number_token,
        start_date as record_date,
        null::text as given_uprn
    from {{ ref('stg_schools__exclusions') }}
),

unioned as (
    select * from ae_attendances
    union all
    select * from care_contacts
    union all
    select * from referrals
    union all
    select * from assessments
    union all
    select * from child_protection_plans
    union all
    select * from tenancies
    union all
    select * from incidents
    union all
    select * from council_tax_support
    union all
    select * from arrears
    union all
    select * from housing_benefit
    union all
    select * from attendance
    union all
    select * from exclusions
),

person_xrefs as (
    select * from {{ ref('stg_linkage__person_xrefs') }}
),

address_xrefs as (
    select * from {{ ref('stg_linkage__address_xrefs') }}
),

keyed as (
    select
        unioned.body,
        unioned.source_entity,
        unioned.record_id,
        unioned.delivery_id,
        unioned.source_row_number,
        unioned.source_period,
        unioned.loaded_at,
        unioned.person_ref_token,
        coalesce(
            person_xrefs.person_key,
            {{ interim_person_key('unioned.body', 'unioned.person_ref_token') }}
        ) as person_key,
        case
            when person_xrefs.person_key is not null then 'linkage' else 'interim'
        end as person_key_method,
        person_xrefs.match_probability,
        unioned.birth_year,
        unioned.sex_code,
        unioned.nhs_number_token,
        unioned.record_date,
        date_trunc('month', unioned.record_date)::date as record_month,
        coalesce(address_xrefs.uprn, unioned.given_uprn) as uprn,
        case
            when address_xrefs.uprn is not null then 'linkage'
            when unioned.given_uprn is not null then 'given'
        end as uprn_method
    from unioned
    left join person_xrefs
        on
            unioned.body = person_xrefs.body
            and unioned.person_ref_token = person_xrefs.person_ref_token
    left join address_xrefs
        on
            unioned.body = address_xrefs.body
            and unioned.source_entity = address_xrefs.source_entity
            and unioned.delivery_id = address_xrefs.delivery_id
            and unioned.source_row_number = address_xrefs.source_row_number
)

select * from keyed
