{#- The date the marts' "last 12 months" windows end on: var('as_of_date') when given,
    else the latest date in the regional model (reproducible for a given load): by default
    the latest contact date in fct_service_contact. A purpose-limited mart passes its own
    evidence, latest_of=[(model, date column), ...], so that fct_service_contact (every
    body's contacts) stays out of its lineage. -#}
{% macro as_of_date(latest_of=none) -%}
    {%- set latest_of = latest_of or [('fct_service_contact', 'contact_date')] -%}
    {%- if var('as_of_date', none) -%}
        '{{ var("as_of_date") }}'::date
    {%- elif latest_of | length == 1 -%}
        (select max({{ latest_of[0][1] }}) from {{ ref(latest_of[0][0]) }})
    {%- else -%}
        greatest(
            {%- for model, column in latest_of %}
            (select max({{ column }}) from {{ ref(model) }}){{ ',' if not loop.last }}
            {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- Disclosure control for one count column of an aggregate table: true when the cell must be
    suppressed. Primary: counts from 1 to threshold - 1. Secondary: when exactly one cell in a
    group (partition_by) is primary-suppressed, the smallest remaining non-zero cell of the
    group is suppressed too, so a published group total cannot reveal the suppressed cell by
    subtraction. Zero cells are published. -#}
{% macro small_count_suppressed(column, partition_by, tiebreak, threshold=none) -%}
    {%- set t = threshold or var('disclosure_threshold', 10) -%}
    (
        {{ column }} between 1 and {{ t - 1 }}
        or (
            {{ column }} >= {{ t }}
            and count(*) filter (where {{ column }} between 1 and {{ t - 1 }}) over (
                partition by {{ partition_by }}
            ) = 1
            and row_number() over (
                partition by {{ partition_by }}
                order by case when {{ column }} >= {{ t }} then 0 else 1 end, {{ column }}, {{ tiebreak }}
            ) = 1
        )
    )
{%- endmacro %}

{#- Primary suppression only, for cells that are not part of a group (e.g. group totals). -#}
{% macro small_count_primary(column, threshold=none) -%}
    {%- set t = threshold or var('disclosure_threshold', 10) -%}
    coalesce({{ column }} between 1 and {{ t - 1 }}, false)
{%- endmacro %}
