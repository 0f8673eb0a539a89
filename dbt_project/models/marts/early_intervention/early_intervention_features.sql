{{
    config(
        materialized='incremental',
        incremental_strategy='slice',
        slice_condition='early_intervention_features_in_slice',
        on_schema_change='fail',
        pre_hook=["{{ record_early_intervention_slice_persons() }}"],
        post_hook=["{{ early_intervention_relabel() }}"],
        indexes=[{'columns': ['month_start']}],
    )
}}
{#- One row per person per month, from the month a person is first seen to the as-of month:
    contacts by body over rolling windows, school attendance, financial hardship, household
    and area, and a label: a high-severity contact or child protection plan in the next six
    months. Features look back only; the label looks forward (use label_is_complete).
    Rebuilt whole (strategy slice), but given a delivery's slice (JIGSAW_SLICE, macros/slices.sql)
    it replaces only the months and people the slice can change (early_intervention_slice):
    every month of the people it touches, and everyone's months after the as-of month built
    before (new months); the label completeness of everyone's other months is set in place
    (post-hook early_intervention_relabel). A slice build asks several times for the as-of month
    built before (early_intervention_slice_first_month): the pre-hook keeps it once, from the
    month_start index, not a read of the table (a quarter of the slice's select at 20k residents
    when it was one); the index also finds the months relabelled. Its windows span months by
    range, not rows, so a slice build reads, for everyone outside the slice, only the months in
    the window that have something to add up, not twelve months of every person (at 1M
    residents a new month's select read 13M person-months for 1.6M rows). -#}
-- depends_on: {{ ref('fct_service_contact') }}
with

bounds as (
    select date_trunc('month', {{ as_of_date() }})::date as as_of_month
),

persons as (
    select * from {{ ref('dim_person') }}
),

{% if builds_slice() %}

slice_persons as (
    select kept.person_key from {{ early_intervention_slice_persons_table() }} as kept
),

-- rebuilt_from: the first month rebuilt for everyone; first_month: the first one its windows
-- read (11 months before); months before rebuilt_from are rebuilt only for the slice's people
slice_window as (
    select
        rebuilt.rebuilt_from,
        (rebuilt.rebuilt_from - interval '11 months')::date as first_month
    from (select {{ early_intervention_slice_first_month() }} as rebuilt_from) as rebuilt
),

{% endif %}

person_months as (
    select
        persons.person_key,
        persons.birth_year,
        persons.sex_code,
        generate_series(
            {%- if builds_slice() %}
            case
                when slice_persons.person_key is not null
                    then date_trunc('month', persons.first_seen_date)
                else greatest(date_trunc('month', persons.first_seen_date), slice_window.rebuilt_from)
            end,
            {%- else %}
            date_trunc('month', persons.first_seen_date),
            {%- endif %}
            bounds.as_of_month,
            interval '1 month'
        )::date as month_start
    from persons
    cross join bounds
    {%- if builds_slice() %}
    cross join slice_window
    left join slice_persons on persons.person_key = slice_persons.person_key
    {%- endif %}
    where persons.first_seen_date <= bounds.as_of_month + interval '1 month' - interval '1 day'
),

contacts_by_month as (
    select
        person_key,
        contact_month as month_start,
        count(*)::integer as contacts,
        (count(*) filter (where severity = 'high'))::integer as high_severity_contacts,
        (count(*) filter (where body = 'police'))::integer as police_contacts,
        (count(*) filter (where contact_type = 'domestic_abuse'))::integer
            as domestic_abuse_incidents,
        (count(*) filter (where body = 'childrens_social_care'))::integer
            as childrens_social_care_contacts,
        (count(*) filter (where body = 'adult_social_care'))::integer
            as adult_social_care_contacts,
        (count(*) filter (where body = 'acute_trust'))::integer as ae_attendances,
        (count(*) filter (where body = 'schools'))::integer as school_exclusions,
        (count(*) filter (where body = 'revenues_benefits'))::integer as arrears_contacts,
        (
            count(*) filter (where severity = 'high' or contact_type = 'child_protection_plan')
        )::integer as escalations,
        (count(*) filter (where contact_type = 'child_protection_plan'))::integer
            as child_protection_plans
    from {{ ref('fct_service_contact') }}
    where
        person_key is not null
        and {{ in_early_intervention_slice_window('contact_month', 'person_key') }}
    group by person_key, contact_month
),

-- A slice build reads only its window's records: an attendance record's month is its
-- attendance month (the schools contribution's record date), so the window is applied to the
-- records before they are joined to the attendance rows, not to every pair after (the
-- attendance months of a slice build at 100k residents: 1.7 s before, 0.9 s after).
school_records as (
    select * from {{ ref('int_person_records_keyed') }}
    where
        source_entity = 'attendance'
        and {{ in_early_intervention_slice_window('record_month', 'person_key') }}
),

attendance_by_month as (
    select
        school_records.person_key,
        attendance.attendance_month as month_start,
        sum(attendance.sessions_possible)::integer as sessions_possible,
        sum(attendance.sessions_attended)::integer as sessions_attended,
        sum(coalesce(attendance.unauthorised_absences, 0))::integer as unauthorised_absences
    from {{ ref('stg_schools__attendance') }} as attendance
    inner join school_records
        on
            attendance.delivery_id = school_records.delivery_id
            and attendance.source_row_number = school_records.source_row_number
    where
        {{ in_early_intervention_slice_window(
            'attendance.attendance_month', 'school_records.person_key'
        ) }}
    group by school_records.person_key, attendance.attendance_month
),

-- The months the windows run over. Windows span months by range, so a month without a row adds
-- nothing, as a month of zeros would: in a slice build everyone else's months in the window
-- before rebuilt_from are only those with something to add up (a sparse grid instead of every
-- person's twelve months).
grid as (
    select
        person_months.person_key,
        person_months.birth_year,
        person_months.sex_code,
        person_months.month_start
    from person_months
    {%- if builds_slice() %}
    union all
    select
        persons.person_key,
        persons.birth_year,
        persons.sex_code,
        active.month_start
    from (
        select contacts_by_month.person_key, contacts_by_month.month_start
        from contacts_by_month
        union
        select attendance_by_month.person_key, attendance_by_month.month_start
        from attendance_by_month
    ) as active
    inner join persons on active.person_key = persons.person_key
    cross join slice_window
    left join slice_persons on active.person_key = slice_persons.person_key
    where
        slice_persons.person_key is null
        and active.month_start >= slice_window.first_month
        and active.month_start < slice_window.rebuilt_from
        and active.month_start >= date_trunc('month', persons.first_seen_date)
    {%- endif %}
),

-- Only a month's own row is read from these: in a slice build, the months rebuilt.
hardship as (
    select * from {{ ref('fct_financial_hardship') }}
    where {{ in_early_intervention_slice_window('month_start', 'person_key', 'rebuilt_from') }}
),

locations as (
    select * from {{ ref('int_person_months_located') }}
    where {{ in_early_intervention_slice_window('month_start', 'person_key', 'rebuilt_from') }}
),

households as (
    select * from {{ ref('dim_household') }}
),

areas as (
    select * from {{ ref('dim_area') }}
),

joined as (
    select
        grid.person_key,
        grid.month_start,
        extract(year from grid.month_start)::integer - grid.birth_year
            as age_years,
        grid.sex_code,
        locations.household_key,
        households.persons as household_persons,
        households.lsoa_code,
        areas.imd_decile,
        coalesce(contacts_by_month.contacts, 0) as contacts_month,
        coalesce(contacts_by_month.high_severity_contacts, 0) as high_severity_contacts,
        coalesce(contacts_by_month.police_contacts, 0) as police_contacts,
        coalesce(contacts_by_month.domestic_abuse_incidents, 0) as domestic_abuse_incidents,
        coalesce(contacts_by_month.childrens_social_care_contacts, 0)
            as childrens_social_care_contacts,
        coalesce(contacts_by_month.adult_social_care_contacts, 0) as adult_social_care_contacts,
        coalesce(contacts_by_month.ae_attendances, 0) as ae_attendances,
        coalesce(contacts_by_month.school_exclusions, 0) as school_exclusions,
        coalesce(contacts_by_month.arrears_contacts, 0) as arrears_contacts,
        coalesce(contacts_by_month.escalations, 0) as escalations,
        coalesce(contacts_by_month.child_protection_plans, 0) as child_protection_plans,
        attendance_by_month.sessions_possible,
        attendance_by_month.sessions_attended,
        coalesce(attendance_by_month.unauthorised_absences, 0) as unauthorised_absences,
        coalesce(hardship.is_in_financial_hardship, false) as in_financial_hardship,
        coalesce(hardship.hardship_score, 0) as hardship_score,
        hardship.arrears_balance
    from grid
    left join contacts_by_month
        on
            grid.person_key = contacts_by_month.person_key
            and grid.month_start = contacts_by_month.month_start
    left join attendance_by_month
        on
            grid.person_key = attendance_by_month.person_key
            and grid.month_start = attendance_by_month.month_start
    left join hardship
        on
            grid.person_key = hardship.person_key
            and grid.month_start = hardship.month_start
    left join locations
        on
            grid.person_key = locations.person_key
            and grid.month_start = locations.month_start
    left join households on locations.household_key = households.household_key
    left join areas on households.lsoa_code = areas.lsoa_code
),

windowed as (
    select
        *,
        sum(contacts_month) over last_12_months as contacts_12m,
        sum(high_severity_contacts) over last_12_months as high_severity_contacts_12m,
        sum(police_contacts) over last_12_months as police_contacts_12m,
        sum(domestic_abuse_incidents) over last_12_months as domestic_abuse_incidents_12m,
        sum(childrens_social_care_contacts) over last_12_months
            as childrens_social_care_contacts_12m,
        sum(adult_social_care_contacts) over last_12_months as adult_social_care_contacts_12m,
        sum(ae_attendances) over last_12_months as ae_attendances_12m,
        sum(school_exclusions) over last_12_months as school_exclusions_12m,
        sum(arrears_contacts) over last_12_months as arrears_contacts_12m,
        sum(unauthorised_absences) over last_3_months as unauthorised_absences_3m,
        sum(escalations) over next_6_months as escalations_next_6m,
        sum(police_contacts) over last_6_months as police_contacts_6m,
        sum(ae_attendances) over last_6_months as ae_attendances_6m,
        sum(school_exclusions) over last_6_months as school_exclusions_6m,
        sum(unauthorised_absences) over last_6_months as unauthorised_absences_6m,
        sum(child_protection_plans) over last_12_months as child_protection_plans_12m,
        sum(child_protection_plans) over next_3_months as child_protection_plans_next_3m
    from joined
    window
        last_12_months as (
            partition by person_key order by month_start
            range between interval '11 months' preceding and current row
        ),
        last_3_months as (
            partition by person_key order by month_start
            range between interval '2 months' preceding and current row
        ),
        last_6_months as (
            partition by person_key order by month_start
            range between interval '5 months' preceding and current row
        ),
        next_3_months as (
            partition by person_key order by month_start
            range between interval '1 month' following and interval '3 months' following
        ),
        next_6_months as (
            partition by person_key order by month_start
            range between interval '1 month' following and interval '6 months' following
        )
),

final as (
    select
        windowed.person_key,
        windowed.month_start,
        windowed.age_years,
        windowed.sex_code,
        windowed.household_key,
        windowed.household_persons,
        windowed.lsoa_code,
        windowed.imd_decile,
        windowed.contacts_month,
        windowed.contacts_12m::integer as contacts_12m,
        (
            (windowed.police_contacts_12m > 0)::integer
            + (windowed.childrens_social_care_contacts_12m > 0)::integer
            + (windowed.adult_social_care_contacts_12m > 0)::integer
            + (windowed.ae_attendances_12m > 0)::integer
            + (windowed.school_exclusions_12m > 0)::integer
            + (windowed.arrears_contacts_12m > 0)::integer
        ) as bodies_12m,
        windowed.high_severity_contacts_12m::integer as high_severity_contacts_12m,
        windowed.police_contacts_12m::integer as police_contacts_12m,
        windowed.domestic_abuse_incidents_12m::integer as domestic_abuse_incidents_12m,
        windowed.childrens_social_care_contacts_12m::integer
            as childrens_social_care_contacts_12m,
        windowed.adult_social_care_contacts_12m::integer as adult_social_care_contacts_12m,
        windowed.ae_attendances_12m::integer as ae_attendances_12m,
        windowed.school_exclusions_12m::integer as school_exclusions_12m,
        windowed.arrears_contacts_12m::integer as arrears_contacts_12m,
        round(
            windowed.sessions_attended::numeric / nullif(windowed.sessions_possible, 0), 3
        )::numeric(4, 3) as school_attendance_rate,
        windowed.unauthorised_absences_3m::integer as unauthorised_absences_3m,
        windowed.in_financial_hardship,
        windowed.hardship_score,
        windowed.arrears_balance,
        coalesce(windowed.escalations_next_6m, 0) > 0 as escalation_next_6_months,
        {{ label_is_complete('windowed.month_start', 6, 'bounds.as_of_month') }}
            as label_is_complete,
        windowed.police_contacts_6m::integer as police_contacts_6m,
        windowed.ae_attendances_6m::integer as ae_attendances_6m,
        windowed.school_exclusions_6m::integer as school_exclusions_6m,
        windowed.unauthorised_absences_6m::integer as unauthorised_absences_6m,
        windowed.child_protection_plans_12m::integer as child_protection_plans_12m,
        coalesce(windowed.child_protection_plans_next_3m, 0) > 0
            as child_protection_plan_next_3_months,
        {{ label_is_complete('windowed.month_start', 3, 'bounds.as_of_month') }}
            as label_3m_is_complete
    from windowed
    cross join bounds
    {%- if builds_slice() %}
    where
        windowed.month_start >= ({{ early_intervention_slice_first_month() }})
        or windowed.person_key in (select slice_persons.person_key from slice_persons)
    {%- endif %}
)

select * from final
