{#- The date the marts' "last 12 months" windows end on: var('as_of_date') when given,
    else the latest contact date in the regional model (reproducible for a given load). -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', none) -%}
        '{{ var("as_of_date") }}'::date
    {%- else -%}
        (select max(contact_date) from {{ ref('fct_service_contact') }})
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
