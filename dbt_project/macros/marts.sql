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
    suppressed. Primary: a non-zero count whose published value (the perturbed one, when given)
    is under the threshold. Secondary: when exactly one cell in a group (partition_by) is
    primary-suppressed, the smallest remaining non-zero cell of the group is suppressed too, so
    a published group total cannot reveal the suppressed cell by subtraction. Zero cells are
    published. -#}
{% macro small_count_suppressed(column, partition_by, tiebreak, perturbed=none, threshold=none) -%}
    {%- set t = (threshold or var('disclosure_threshold')) | int -%}
    {%- set shown = perturbed or column -%}
    (
        ({{ column }} > 0 and {{ shown }} < {{ t }})
        or (
            {{ shown }} >= {{ t }}
            and count(*) filter (where {{ column }} > 0 and {{ shown }} < {{ t }}) over (
                partition by {{ partition_by }}
            ) = 1
            and row_number() over (
                partition by {{ partition_by }}
                order by case when {{ shown }} >= {{ t }} then 0 else 1 end, {{ column }}, {{ tiebreak }}
            ) = 1
        )
    )
{%- endmacro %}

{#- Primary suppression only, for cells that are not part of a group (e.g. group totals). -#}
{% macro small_count_primary(column, perturbed=none, threshold=none) -%}
    {%- set t = (threshold or var('disclosure_threshold')) | int -%}
    coalesce({{ column }} > 0 and {{ perturbed or column }} < {{ t }}, false)
{%- endmacro %}

{#- Cell-key perturbation (quality/perturbation.py, ONS's method and p-table). A person's record
    key, 0 to 255, is derived from the pseudonymous person key, so it is the same in every
    release; a cell's key is the sum of its people's record keys modulo 256. -#}
{% macro record_key(person_key) -%}
    get_byte(decode(md5('record_key:' || {{ person_key }}), 'hex'), 0)
{%- endmacro %}

{#- The count plus the p-table's perturbation for its value and cell key. As in the package,
    values over 750 reuse the p-table rows 501 to 750, and a zero stays zero. -#}
{% macro perturbed_count(column, cell_key) -%}
    (
        {{ column }} + coalesce((
            select perturbations.pvalue
            from {{ ref('stg_quality__perturbations') }} as perturbations
            where
                perturbations.ckey = {{ cell_key }}
                and perturbations.pcv = case
                    when {{ column }} <= 750 then {{ column }}
                    else (({{ column }} - 1) % 250) + 501
                end
        ), 0)
    )
{%- endmacro %}
