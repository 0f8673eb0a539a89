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
    when it was one); the index also finds the months relabelled. For everyone outside the slice
    a slice build reads only the months in their new months' windows that have something to add
    up, not twelve months of every person (at 1M residents a new month's select read 13M
    person-months for 1.6M rows), and sums them by aggregates (others_window_sums), not by
    window functions. -#}
{#- The windowed sums: (column, the measure summed, the window's first and last month relative
    to the row's month; macros/month_windows.sql). A full build sums them by window functions
    over every person's months; a slice build does so for its people only, and for everyone
    else's new months by aggregates over the months around them that hold something. -#}
{%- set window_sums = [
    ('contacts_12m', 'contacts_month', -11, 0),
    ('high_severity_contacts_12m', 'high_severity_contacts', -11, 0),
    ('police_contacts_12m', 'police_contacts', -11, 0),
    ('domestic_abuse_incidents_12m', 'domestic_abuse_incidents', -11, 0),
    ('childrens_social_care_contacts_12m', 'childrens_social_care_contacts', -11, 0),
    ('adult_social_care_contacts_12m', 'adult_social_care_contacts', -11, 0),
    ('ae_attendances_12m', 'ae_attendances', -11, 0),
    ('school_exclusions_12m', 'school_exclusions', -11, 0),
    ('arrears_contacts_12m', 'arrears_contacts', -11, 0),
    ('unauthorised_absences_3m', 'unauthorised_absences', -2, 0),
    ('escalations_next_6m', 'escalations', 1, 6),
    ('police_contacts_6m', 'police_contacts', -5, 0),
    ('ae_attendances_6m', 'ae_attendances', -5, 0),
    ('school_exclusions_6m', 'school_exclusions', -5, 0),
    ('unauthorised_absences_6m', 'unauthorised_absences', -5, 0),
    ('child_protection_plans_12m', 'child_protection_plans', -11, 0),
    ('child_protection_plans_next_3m', 'child_protection_plans', 1, 3),
] -%}
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
        date_trunc('month', persons.first_seen_date)::date as first_seen_month,
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
        count(*)::integer as contacts_month,
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
        coalesce(contacts_by_month.contacts_month, 0) as contacts_month,
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
    from person_months as grid
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

{% if builds_slice() %}

-- Each month with something in it, contacts or attendance, with its measures under the names
-- joined gives them.
month_measures as (
    select *
    from contacts_by_month
    full outer join attendance_by_month using (person_key, month_start)
),

-- A month and each month around it that a window can see (from the person's first month seen
-- to the as-of month, as their grid would run), within the widest window. Materialized: the
-- offset is worked out once per pair (month_offset), not again in each sum's filter.
others_month_pairs as materialized (
    select
        rebuilt.person_key,
        rebuilt.month_start,
        {{ month_offset('measures.month_start', 'rebuilt.month_start') }} as month_offset,
        {%- for measure in window_sums | map(attribute=1) | unique %}
        measures.{{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from person_months as rebuilt
    inner join month_measures as measures on rebuilt.person_key = measures.person_key
    cross join bounds
    left join slice_persons on rebuilt.person_key = slice_persons.person_key
    where
        slice_persons.person_key is null
        and measures.month_start >= rebuilt.first_seen_month
        and measures.month_start <= bounds.as_of_month
        and {{ month_offset('measures.month_start', 'rebuilt.month_start') }}
        between {{ window_sums | map(attribute=2) | min }}
        and {{ window_sums | map(attribute=3) | max }}
),

-- Everyone else's rebuilt months (their new months) sum each window over the months around
-- them that hold something, grouped, instead of by window functions over a grid of their
-- months: at 100k residents the select took 3.1-3.3 s with window functions over a grid of
-- everyone's new months and the months before them, 2.4-2.6 s with these aggregates.
others_window_sums as (
    select
        pairs.person_key,
        pairs.month_start,
        {{ month_window_sums_by_offset(window_sums, 'pairs') }}
    from others_month_pairs as pairs
    group by pairs.person_key, pairs.month_start
),

{% endif %}

windowed as (
    select
        joined.*,
        {{ month_window_sums_over(window_sums, 'joined') }}
    from joined
    {%- if builds_slice() %}
    inner join slice_persons on joined.person_key = slice_persons.person_key
    union all
    select
        joined.*,
        {%- for name, measure, first, last in window_sums %}
        coalesce(others_window_sums.{{ name }}, 0) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from joined
    left join others_window_sums
        on
            joined.person_key = others_window_sums.person_key
            and joined.month_start = others_window_sums.month_start
    left join slice_persons on joined.person_key = slice_persons.person_key
    where slice_persons.person_key is null
    {%- endif %}
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
)

select * from final
