{{ config(materialized='view') }}
{#- Every body's contacts in one shape, before person keys are attached. Severity is
    low / medium / high by rules per body stated in each CTE. A view, not ephemeral:
    fct_service_contact's post-hook reads it to find slices left with no rows. -#}
with

incidents as (
    select
        body,
        'incidents'::text as source_entity,
        incident_no || ':' || person_ref_token as record_id,
        person_ref_token,
        incident_type as contact_type,
        incident_date as contact_date,
        case
            when risk_grade = 'high' then 'high'
            when risk_grade = 'medium' then 'medium'
            when incident_type in ('domestic_abuse', 'missing_person', 'violence') then 'medium'
            else 'low'
        end as severity,
        null::text as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_police__incidents') }}
),

care_contacts as (
    select
        body,
        'care_contacts'::text as source_entity,
        contact_id as record_id,
        person_ref_token,
        contact_type,
        contact_date,
        case
            when contact_type = 'safeguarding_concern' then 'high'
            when contact_type in ('assessment', 'service_start') then 'medium'
            else 'low'
        end as severity,
        uprn as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_adult_social_care__care_contacts') }}
),

referrals as (
    select
        body,
        'referrals'::text as source_entity,
        referral_id as record_id,
        person_ref_token,
        'referral'::text as contact_type,
        referral_date as contact_date,
        case when primary_need = 'abuse_neglect' then 'high' else 'medium' end as severity,
        uprn as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_childrens_social_care__referrals') }}
),

assessments as (
    select
        body,
        'assessments'::text as source_entity,
        assessment_id as record_id,
        person_ref_token,
        'assessment'::text as contact_type,
        start_date as contact_date,
        case
            when outcome = 'strategy_discussion' then 'high'
            when outcome in ('child_in_need', 'open') then 'medium'
            else 'low'
        end as severity,
        null::text as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_childrens_social_care__assessments') }}
),

child_protection_plans as (
    select
        body,
        'child_protection_plans'::text as source_entity,
        plan_id as record_id,
        person_ref_token,
        'child_protection_plan'::text as contact_type,
        start_date as contact_date,
        'high'::text as severity,
        null::text as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_childrens_social_care__child_protection_plans') }}
),

ae_attendances as (
    select
        body,
        'ae_attendances'::text as source_entity,
        attendance_id as record_id,
        person_ref_token,
        'ae_attendance'::text as contact_type,
        arrival_date as contact_date,
        case
            when acuity <= 2 or diagnosis_group = 'self_harm' then 'high'
            when acuity = 3 then 'medium'
            else 'low'
        end as severity,
        null::text as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_acute_trust__ae_attendances') }}
),

exclusions as (
    select
        body,
        'exclusions'::text as source_entity,
        exclusion_id as record_id,
        person_ref_token,
        coalesce(exclusion_type, 'exclusion') as contact_type,
        start_date as contact_date,
        case when exclusion_type = 'permanent' then 'high' else 'medium' end as severity,
        null::text as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_schools__exclusions') }}
),

arrears as (
    select
        body,
        'arrears'::text as source_entity,
        account_ref || ':' || source_period as record_id,
        person_ref_token,
        'arrears_' || coalesce(recovery_stage, 'unknown') as contact_type,
        snapshot_date as contact_date,
        case
            when recovery_stage in ('summons', 'liability_order', 'enforcement_agent') then 'high'
            when recovery_stage = 'final_notice' then 'medium'
            else 'low'
        end as severity,
        uprn as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_revenues_benefits__arrears') }}
),

repairs as (
    select
        body,
        'repairs'::text as source_entity,
        job_id as record_id,
        null::text as person_ref_token,
        'repair_' || coalesce(category, 'other') as contact_type,
        reported_date as contact_date,
        case
            when priority = 'emergency' then 'high'
            when priority = 'urgent' or category = 'damp_mould' then 'medium'
            else 'low'
        end as severity,
        uprn as given_uprn,
        delivery_id,
        source_row_number,
        source_period,
        loaded_at
    from {{ ref('stg_housing_provider__repairs') }}
),

unioned as (
    select * from incidents
    union all
    select * from care_contacts
    union all
    select * from referrals
    union all
    select * from assessments
    union all
    select * from child_protection_plans
    union all
    select * from ae_attendances
    union all
    select * from exclusions
    union all
    select * from arrears
    union all
    select * from repairs
)

select * from unioned
