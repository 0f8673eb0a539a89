{#- People known to three or more bodies in the 12 months to the as-of date: which bodies,
    and how many contacts with each. -#}
-- depends_on: {{ ref('fct_service_contact') }}
with

window_bounds as (
    select
        {{ as_of_date() }} as as_of_date,
        ({{ as_of_date() }} - interval '12 months')::date as window_start_date
),

window_contacts as (
    select contacts.*
    from {{ ref('fct_service_contact') }} as contacts
    cross join window_bounds
    where
        contacts.person_key is not null
        and contacts.contact_date > window_bounds.window_start_date
        and contacts.contact_date <= window_bounds.as_of_date
),

by_person_and_body as (
    select
        person_key,
        body,
        count(*)::integer as contacts
    from window_contacts
    group by person_key, body
),

by_person as (
    select
        person_key,
        count(*)::integer as body_count,
        string_agg(body, ',' order by body) as bodies,
        sum(contacts)::integer as contact_count
    from by_person_and_body
    group by person_key
),

contact_summary as (
    select
        person_key,
        (count(*) filter (where severity = 'high'))::integer as high_severity_contacts,
        min(contact_date) as first_contact_date,
        max(contact_date) as last_contact_date,
        (count(*) filter (where body = 'police'))::integer as police_contacts,
        (count(*) filter (where body = 'childrens_social_care'))::integer
            as childrens_social_care_contacts,
        (count(*) filter (where body = 'adult_social_care'))::integer
            as adult_social_care_contacts,
        (count(*) filter (where body = 'acute_trust'))::integer as acute_trust_contacts,
        (count(*) filter (where body = 'schools'))::integer as schools_contacts,
        (count(*) filter (where body = 'revenues_benefits'))::integer
            as revenues_benefits_contacts,
        (count(*) filter (where body = 'housing_provider'))::integer as housing_provider_contacts
    from window_contacts
    group by person_key
),

final as (
    select
        by_person.person_key,
        window_bounds.as_of_date,
        window_bounds.window_start_date,
        by_person.body_count,
        by_person.bodies,
        by_person.contact_count,
        contact_summary.high_severity_contacts,
        contact_summary.first_contact_date,
        contact_summary.last_contact_date,
        contact_summary.police_contacts,
        contact_summary.childrens_social_care_contacts,
        contact_summary.adult_social_care_contacts,
        contact_summary.acute_trust_contacts,
        contact_summary.schools_contacts,
        contact_summary.revenues_benefits_contacts,
        contact_summary.housing_provider_contacts
    from by_person
    inner join contact_summary on by_person.person_key = contact_summary.person_key
    cross join window_bounds
    where by_person.body_count >= 3
)

select * from final
