{#- What a delivery's slice (macros/slices.sql) changes in early_intervention_features. -#}

{#- The people whose every month is rebuilt: those with records in the slice's periods before the
    build (captured on-run-start) and after it, the re-keyed, and whoever shares a household
    with them in any month, before or after (household_persons counts them). A row's household
    is the located one of the build that made it, so their households are the slice's changed
    households (slice_changed_households: those int_person_months_located's pre-hook kept for
    the people whose locations change, and the touched people's now), and the people in them
    before, other than those, are in them still: the built table is not read (two scans of it
    took 1.4 of this query's 2.1 s at 100k residents, and it grows with every month). -#}
{% macro early_intervention_slice_persons() -%}
    with

    touched as (
        {{ slice_changed_persons() }}
        union
        select contacts.person_key
        from {{ ref('fct_service_contact') }} as contacts
        where
            (contacts.body, contacts.source_entity, contacts.source_period)
            in ({{ slice_periods() }})
            and contacts.person_key is not null
    ),

    touched_households as (
        {{ slice_changed_households(persons='select touched.person_key from touched') }}
    )

    select touched.person_key from touched
    union
    select located.person_key
    from {{ ref('int_person_months_located') }} as located
    inner join touched_households on located.household_key = touched_households.household_key
{%- endmacro %}

{#- Pre-hook of early_intervention_features: its slice's people (above), worked out once into
    intermediate.slice_persons_features before the model reads the table it replaces. Read as
    a query, they were estimated at millions of rows at 1M residents (a union of joins), too
    many to hash, so every person-month tested its person against the whole list (the select
    ran for over 11 minutes instead of 44 s); as an analysed table they are hashed. It also
    keeps the as-of month built before (intermediate.slice_features_as_of_before), from which
    the months rebuilt for everyone start (early_intervention_slice_first_month), and which
    bounds the months early_intervention_relabel reads. Without a slice it does nothing. -#}
{% macro record_early_intervention_slice_persons() -%}
    {%- if builds_slice() -%}
        {{ refill_slice_table(
            early_intervention_slice_persons_table(), 'person_key',
            early_intervention_slice_persons()
        ) }};
        {{ refill_slice_table(
            early_intervention_as_of_before_table(), 'as_of_month',
            'select max(built.month_start)::text from ' ~ this ~ ' as built'
        ) }}
    {%- endif -%}
{%- endmacro %}

{% macro early_intervention_slice_persons_table() -%}
    {{ var('schema_intermediate') }}.slice_persons_features
{%- endmacro %}

{% macro early_intervention_as_of_before_table() -%}
    {{ var('schema_intermediate') }}.slice_features_as_of_before
{%- endmacro %}

{#- The first month rebuilt for everyone: the month after the earlier of the as-of month built
    before and the one now, so new months are added and months past a receding as-of month
    dropped. An earlier month of someone outside the slice's people changes only in its label
    completeness (a new month adds no contact of theirs to a forward-looking window; their
    records, household and area are as they were), which early_intervention_relabel sets in
    place instead of rewriting every person's last six months. The as-of month built before is
    the one the pre-hook kept (record_early_intervention_slice_persons). -#}
{% macro early_intervention_slice_first_month() -%}
    (
        select
            (
                least(now_bounds.as_of_month, coalesce(built_bounds.as_of_month, now_bounds.as_of_month))
                + interval '1 month'
            )::date
        from (select date_trunc('month', {{ as_of_date() }})::date as as_of_month) as now_bounds
        cross join (
            select kept.as_of_month::date as as_of_month
            from {{ early_intervention_as_of_before_table() }} as kept
        ) as built_bounds
    )
{%- endmacro %}

{#- Whether a month's label looking `months` ahead is complete: the as-of month ends its
    window. The one definition of the model's label_*_is_complete columns, which
    early_intervention_relabel sets again when the as-of month moves. -#}
{% macro label_is_complete(month_start, months, as_of_month) -%}
    ({{ month_start }} + interval '{{ months }} months')::date <= {{ as_of_month }}
{%- endmacro %}

{#- Post-hook of a slice build: the label completeness of the rows it kept, for the as-of month
    now (rows it rebuilt already have it, so they are not updated). A kept row's flags were set
    for the as-of month built before, so only months whose window ends between that one and
    this one can change: two months when the as-of month moves by one. They are found by the
    month_start index; a scan of the whole table to find them took 2.1 of the update's 2.9 s at
    100k residents, and it grows with every month of history. -#}
{% macro early_intervention_relabel() -%}
    {%- if builds_slice() -%}
    -- materialized: the as-of month is worked out once, not once per use
    with bounds as materialized (
        select
            now_bounds.as_of_month,
            least(now_bounds.as_of_month, before.as_of_month) as earlier_as_of_month,
            greatest(now_bounds.as_of_month, before.as_of_month) as later_as_of_month
        from (select date_trunc('month', {{ as_of_date() }})::date as as_of_month) as now_bounds
        cross join (
            select kept.as_of_month::date as as_of_month
            from {{ early_intervention_as_of_before_table() }} as kept
        ) as before
    )

    {%- set horizons = {'label_is_complete': 6, 'label_3m_is_complete': 3} %}
    update {{ this }} as built
    set
        {%- for flag, months in horizons.items() %}
        {{ flag }} = {{ label_is_complete('built.month_start', months, 'bounds.as_of_month') }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from bounds
    where
        (
            {%- for months in horizons.values() %}
            {{ 'or ' if not loop.first }}(
                built.month_start > bounds.earlier_as_of_month - interval '{{ months }} months'
                and built.month_start <= bounds.later_as_of_month - interval '{{ months }} months'
            )
            {%- endfor %}
        )
        and (
            {%- for flag, months in horizons.items() %}
            {{ 'or ' if not loop.first }}built.{{ flag }} is distinct from
            {{ label_is_complete('built.month_start', months, 'bounds.as_of_month') }}
            {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- Whether a row (its month and person columns) is read by a slice build: one of the slice's
    people, or a month from `since`, a column of slice_window: first_month, the first month its
    windows read (the default), or rebuilt_from, the first month rebuilt for everyone (for what
    only a month's own row reads); always, without a slice. -#}
{% macro in_early_intervention_slice_window(month, person, since='first_month') -%}
    {%- if builds_slice() -%}
        (
            {{ month }} >= (select slice_window.{{ since }} from slice_window)
            or {{ person }} in (select slice_persons.person_key from slice_persons)
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- slice_condition of early_intervention_features: the rows its slice build replaces. -#}
{% macro early_intervention_features_in_slice(built) -%}
    (
        {{ built }}.month_start >= {{ early_intervention_slice_first_month() }}
        or {{ built }}.person_key in (
            select kept.person_key from {{ early_intervention_slice_persons_table() }} as kept
        )
    )
{%- endmacro %}
