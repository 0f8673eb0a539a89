{#- Households (people at one property) known to three or more bodies in the 12 months to the
    as-of date. A person's contact counts for the property they lived at in the month of the
    contact, else the property recorded on the contact, else their latest known property up
    to the as-of date; property-level contacts (repairs) count for their property. Its readers
    work on early intervention, not on homes: the property is named by its keyed property key,
    never by its UPRN (a public address identifier). -#}
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
        contacts.contact_date > window_bounds.window_start_date
        and contacts.contact_date <= window_bounds.as_of_date
),

locations as (
    select * from {{ ref('int_person_months_located') }}
),

-- The latest locations and households below are ranked only for the people and properties
-- the window needs, not for every person's months and every household (two whole-table sorts
-- in a model rebuilt whole after every delivery).
contact_persons as (
    select distinct window_contacts.person_key
    from window_contacts
    where window_contacts.person_key is not null
),

latest_locations as (
    select
        locations.person_key,
        locations.uprn,
        row_number() over (
            partition by locations.person_key order by locations.month_start desc
        ) as recency_rank
    from locations
    inner join contact_persons on locations.person_key = contact_persons.person_key
    cross join window_bounds
    where locations.month_start <= window_bounds.as_of_date
),

located_contacts as (
    select
        coalesce(locations.uprn, window_contacts.uprn, latest_locations.uprn) as uprn,
        window_contacts.person_key,
        window_contacts.body,
        window_contacts.severity,
        window_contacts.contact_date
    from window_contacts
    left join locations
        on
            window_contacts.person_key = locations.person_key
            and window_contacts.contact_month = locations.month_start
    left join latest_locations
        on
            window_contacts.person_key = latest_locations.person_key
            and latest_locations.recency_rank = 1
),

-- One aggregation per property: summaries joined back to each other on the property lost
-- their row estimates (the CTE is read twice), and PostgreSQL joined them by a nested loop that
-- grew with the square of the properties (2.6 s at 100k residents, 296 s at 1M).
by_property as (
    select
        uprn,
        count(distinct body)::integer as body_count,
        string_agg(distinct body, ',' order by body) as bodies,
        count(*)::integer as contact_count,
        count(distinct person_key)::integer as persons_known,
        (count(*) filter (where severity = 'high'))::integer as high_severity_contacts,
        max(contact_date) as last_contact_date
    from located_contacts
    where uprn is not null
    group by uprn
),

known_properties as (
    select by_property.uprn
    from by_property
    where by_property.body_count >= 3
),

latest_households as (
    select
        households.uprn,
        households.household_key,
        households.persons,
        row_number() over (
            partition by households.uprn order by households.month_start desc
        ) as recency_rank
    from {{ ref('dim_household') }} as households
    cross join window_bounds
    where
        households.month_start <= window_bounds.as_of_date
        and households.uprn in (select known.uprn from known_properties as known)
),

properties as (
    select * from {{ ref('dim_property') }}
),

property_keys as (
    select * from {{ ref('stg_linkage__property_keys') }}
),

final as (
    select
        property_keys.property_key,
        latest_households.household_key,
        window_bounds.as_of_date,
        window_bounds.window_start_date,
        by_property.body_count,
        by_property.bodies,
        by_property.contact_count,
        by_property.persons_known,
        by_property.high_severity_contacts,
        by_property.last_contact_date,
        properties.lsoa_code,
        properties.ward_code
    from by_property
    cross join window_bounds
    left join latest_households
        on
            by_property.uprn = latest_households.uprn
            and latest_households.recency_rank = 1
    left join properties on by_property.uprn = properties.uprn
    left join property_keys on by_property.uprn = property_keys.uprn
    where by_property.body_count >= 3
)

select * from final
