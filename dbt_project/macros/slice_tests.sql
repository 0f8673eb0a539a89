{#- Data tests of a build after a delivery look only at the slice it rebuilt (macros/slices.sql).
    dbt hands every generic test its model through get_where_subquery, at execution; this
    override narrows a model built by slice to the rows its slice covers, beside the test's own
    `where`. The rest of such a table was tested when it was built and is not rewritten, so a
    build after a delivery no longer scans every contact, record and sensor day of the region
    to test the new month's; what crosses the slice's edge (a key unique within the slice but
    repeated outside it) is left to the nightly build, which passes no slice and tests whole
    tables. Without a slice every test reads its whole model, as dbt's own macro does. -#}

{#- The rows of a model built by slice that its slice covers, or of a delivered extract's staging
    view its delivered periods, as a condition on the model's columns; none for any other model
    (it was rebuilt whole, or not at all). -#}
{% macro slice_test_condition(relation) -%}
    {%- set model = relation.identifier if relation is not string else none -%}
    {%- if delivery_slice() is none or model is none -%}
        {{ return(none) }}
    {%- elif model in ('fct_service_contact', 'int_person_records_keyed') -%}
        {{ return(
            "((body, source_entity, source_period) in (" ~ slice_periods()
            ~ ") or person_key in (" ~ slice_person_keys() ~ "))"
        ) }}
    {%- elif model in ('int_person_months_located', 'dim_person') -%}
        {{ return("person_key in (" ~ slice_changed_persons() ~ ")") }}
    {%- elif model == 'dim_household' -%}
        {{ return("household_key in (" ~ slice_households_replaced() ~ ")") }}
    {%- elif model == 'early_intervention_features' -%}
        {#- the rows it rebuilt: everyone's months after the as-of month built before, and every
            month of the slice's people; the label flags it set in place on other rows
            (early_intervention_relabel) have no data test -#}
        {{ return(
            "(month_start > coalesce((select kept.as_of_month::date from "
            ~ early_intervention_as_of_before_table() ~ " as kept), '-infinity'::date)"
            ~ " or person_key in (select kept.person_key from "
            ~ early_intervention_slice_persons_table() ~ " as kept))"
        ) }}
    {%- elif model == 'fct_sensor_reading_daily' -%}
        {{ return(period_in_slice('home_sensors', 'sensor_readings', 'source_period')) }}
    {%- endif -%}
    {#- a delivered extract's staging view, stg_<body>__<entity>: the delivered periods -#}
    {%- for period in (delivery_slice().get('periods') or []) -%}
        {%- if model == 'stg_' ~ period.body ~ '__' ~ period.entity -%}
            {{ return(period_in_slice(period.body, period.entity, 'source_period')) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set in_slice = slice_test_condition(relation) -%}
    {%- if in_slice -%}
        {%- do conditions.append(in_slice) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
