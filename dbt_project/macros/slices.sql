{#- Slice-aware builds. The run that follows a delivery passes what changed in the environment
    variable JIGSAW_SLICE, as JSON (orchestration/slices.py writes it):
      {"periods": [{"body": ..., "entity": ..., "period": ...}, ...],   periods loaded,
                                         replaced, emptied or expired by the deliveries
       "person_keys": [...]}             keys of people identity resolution re-keyed (both
                                         sides of each merge and split) or keyed anew
    The person-level models (fct_service_contact, int_person_records_keyed,
    early_intervention_features) then replace only that slice of what they built: the rows of
    those periods, and the whole history of those people. Without it (the nightly build, a dbt
    build by hand) they build as they always have.
    The slice is read only when dbt executes, never while it parses: a --vars value, or an
    environment variable read while parsing, is part of what dbt's partial parsing hashes, so a
    new slice each run would make every build after a delivery re-parse the whole project
    (about 8 s of CPU). Parsing therefore sees no slice, and no config depends on one: the
    models' materialisation is the same with and without a slice, and the strategy 'slice'
    decides when it runs. -#}

{% macro delivery_slice() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set given = env_var('JIGSAW_SLICE', '') -%}
    {{ return(fromjson(given) if given else none) }}
{%- endmacro %}

{#- Whether this model replaces only the slice: a slice is given and the model is built. -#}
{% macro builds_slice() -%}
    {{ return(delivery_slice() is not none and is_incremental()) }}
{%- endmacro %}

{% macro _slice_literal(value) -%}
    '{{ (value | string).replace("'", "''") }}'
{%- endmacro %}

{#- The slice's periods as rows (body, source_entity, source_period). -#}
{% macro slice_periods() -%}
    {%- set periods = (delivery_slice() or {}).get('periods') or [] -%}
    {%- if periods -%}
        select
            slice_periods.body,
            slice_periods.source_entity,
            slice_periods.source_period
        from (values
            {%- for period in periods %}
            ({{ _slice_literal(period.body) }}, {{ _slice_literal(period.entity) }},
                {{ _slice_literal(period.period) }}){{ ',' if not loop.last }}
            {%- endfor %}
        ) as slice_periods (body, source_entity, source_period)
    {%- else -%}
        select null::text as body, null::text as source_entity, null::text as source_period
        where false
    {%- endif -%}
{%- endmacro %}

{#- The slice's re-keyed people as rows (person_key). -#}
{% macro slice_person_keys() -%}
    {%- set keys = (delivery_slice() or {}).get('person_keys') or [] -%}
    {%- if keys -%}
        select slice_keys.person_key
        from (values
            {%- for key in keys %}
            ({{ _slice_literal(key) }}){{ ',' if not loop.last }}
            {%- endfor %}
        ) as slice_keys (person_key)
    {%- else -%}
        select null::text as person_key where false
    {%- endif -%}
{%- endmacro %}

{#- The bodies' person tokens that identity resolution now gives one of the slice's keys: every
    record of a re-keyed person, whatever key it was built with (a merge's or a split's keys are
    all in the slice, old and new). -#}
{% macro slice_person_tokens() -%}
    select
        person_xrefs.body,
        person_xrefs.person_ref_token
    from {{ ref('stg_linkage__person_xrefs') }} as person_xrefs
    where person_xrefs.person_key in ({{ slice_person_keys() }})
{%- endmacro %}

{#- Whether a record (alias `rows`, with body, source_entity, source_period) is of one of the
    slice's periods. The periods are written out as literals, not joined as rows: on a union of
    every body's records the planner then folds the condition per body and reads only the
    slice's bodies, where a subquery made it build and scan every body's records. -#}
{% macro period_of_slice(rows) -%}
    {%- set periods = (delivery_slice() or {}).get('periods') or [] -%}
    {%- if periods -%}
        ({{ rows }}.body, {{ rows }}.source_entity, {{ rows }}.source_period) in (
            {%- for period in periods %}
            ({{ _slice_literal(period.body) }}, {{ _slice_literal(period.entity) }},
                {{ _slice_literal(period.period) }}){{ ',' if not loop.last }}
            {%- endfor %}
        )
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#- Whether the slice re-keyed anyone. -#}
{% macro slice_has_person_keys() -%}
    {{ return(((delivery_slice() or {}).get('person_keys') or []) | length > 0) }}
{%- endmacro %}

{#- Whether a record (alias `rows`, with body, source_entity, source_period, person_ref_token)
    belongs to the slice: one of its periods, or a re-keyed person's. -#}
{% macro record_in_slice(rows) -%}
    (
        {{ period_of_slice(rows) }}
        {%- if slice_has_person_keys() %}
        or ({{ rows }}.body, {{ rows }}.person_ref_token) in ({{ slice_person_tokens() }})
        {%- endif %}
    )
{%- endmacro %}

{#- Delete condition of a record-level model (fct_service_contact, int_person_records_keyed):
    its rows in the slice, including those still carrying a key the slice retired. -#}
{% macro built_record_in_slice(built) -%}
    (
        {{ record_in_slice(built) }}
        {%- if slice_has_person_keys() %}
        or {{ built }}.person_key in ({{ slice_person_keys() }})
        {%- endif %}
    )
{%- endmacro %}

{#- Whether a period column names one of the slice's periods of a body's extract. -#}
{% macro period_in_slice(body, entity, period) -%}
    {{ period }} in (
        select slice_periods.source_period
        from ({{ slice_periods() }}) as slice_periods
        where
            slice_periods.body = {{ _slice_literal(body) }}
            and slice_periods.source_entity = {{ _slice_literal(entity) }}
    )
{%- endmacro %}

{#- slice_condition of fct_sensor_reading_daily: the sensor days of the slice's periods. -#}
{% macro sensor_day_in_slice(built) -%}
    {{ period_in_slice('home_sensors', 'sensor_readings', built ~ '.source_period') }}
{%- endmacro %}

{#- Custom incremental strategy 'slice'. Given a slice: delete what the model's slice condition
    (config slice_condition, the name of a macro taking the built table's alias) selects, then
    insert the model's rows, which hold exactly that slice rebuilt. Unlike delete+insert it also
    removes rows that have no successor (an emptied period, a retired key). The model's select
    ran first (into the temporary table), so it may read the table as it was.
    Without a slice the model built everything it selects: delete+insert by its unique_key
    where it has one (a model incremental on its own, fct_service_contact), else it replaces
    the whole table, as a table materialisation would. -#}
{% macro get_incremental_slice_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- if delivery_slice() is not none -%}
        {%- set condition = context[config.get('slice_condition')] -%}
    delete from {{ target }} as built
    where {{ condition('built') }};
    {%- elif arg_dict['unique_key'] -%}
        {{ return(get_incremental_delete_insert_sql(arg_dict)) }}
    {%- else -%}
    truncate {{ target }};
    {%- endif %}

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- The slice's people before the build: who had records in its periods (an emptied or corrected
    period takes them away, and the marts built from them must forget them too). on-run-start
    keeps them in intermediate.slice_persons_before for early_intervention_features; without a
    slice, or when the build does not build the features, it does nothing. -#}
{% macro capture_slice_persons() -%}
    {%- if execute and delivery_slice() is not none
        and 'model.jigsaw.early_intervention_features' in selected_resources -%}
        {%- set before = slice_persons_before() | trim -%}
        {%- set sources = [] -%}
        {%- for schema, name in [(var('schema_core'), 'fct_service_contact'),
                                 (var('schema_intermediate'), 'int_person_records_keyed')] -%}
            {%- set relation = adapter.get_relation(target.database, schema, name) -%}
            {%- if relation is not none -%}
                {%- do sources.append(
                    "select built.person_key from " ~ relation ~ " as built where"
                    ~ " (built.body, built.source_entity, built.source_period) in ("
                    ~ slice_periods() ~ ") and built.person_key is not null"
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do run_query("create schema if not exists " ~ var('schema_intermediate')) -%}
        {%- do run_query(
            "create table if not exists " ~ before ~ " (person_key text)"
        ) -%}
        {%- do run_query("truncate " ~ before) -%}
        {%- if sources -%}
            {%- do run_query(
                "insert into " ~ before ~ " (person_key) "
                ~ (sources | join(" union ")) ~ "; analyze " ~ before
            ) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Where capture_slice_persons keeps the slice's people as they were before the build. -#}
{% macro slice_persons_before() -%}
    {{ var('schema_intermediate') }}.slice_persons_before
{%- endmacro %}
