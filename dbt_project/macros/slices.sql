{#- Slice-aware builds. The run that follows a delivery passes what changed in the environment
    variable JIGSAW_SLICE, as JSON (orchestration/slices.py writes it):
      {"periods": [{"body": ..., "entity": ..., "period": ...}, ...],   periods loaded,
                                         replaced, emptied or expired by the deliveries
       "person_keys": [...]}             keys of people identity resolution re-keyed (both
                                         sides of each merge and split) or keyed anew
    The person-level models (fct_service_contact, int_person_records_keyed,
    int_person_months_located, dim_person, dim_household, early_intervention_features) then
    replace only that slice of what they built: the rows of those periods, and the whole
    history of those people (and of the people and households the periods touch). Without it
    (the nightly build, a dbt build by hand) they build as they always have.
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

{#- The slice conditions of the models that read the slice's people as they were before the
    build (slice_persons_before): capture_slice_persons keeps them when one is selected.
    int_person_records_keyed (built_record_in_slice) reads them in its post-hook. -#}
{% macro slice_conditions_reading_persons_before() -%}
    {{ return([
        'built_record_in_slice', 'person_in_slice', 'household_in_slice',
        'early_intervention_features_in_slice',
    ]) }}
{%- endmacro %}

{#- The slice's people before the build: who had records in its periods (an emptied or corrected
    period takes them away, and the models built from them must forget them too). on-run-start
    keeps them in intermediate.slice_persons_before for the models built by person or household
    (slice_conditions_reading_persons_before); without a slice, or when the build builds none of
    them, it does nothing. -#}
{% macro capture_slice_persons() -%}
    {%- set readers = [] -%}
    {%- if execute and delivery_slice() is not none -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.unique_id in selected_resources and node.config.get('slice_condition')
                in slice_conditions_reading_persons_before() -%}
                {%- do readers.append(node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if readers -%}
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

{#- Post-hook of int_person_records_keyed: the people a slice changes, kept once per build in
    intermediate.slice_persons_changed for the models built by person or household (read many
    times, the query below would scan the records each time). They are those with records in the
    slice's periods before the build (captured on-run-start) and after it, and the re-keyed:
    every record of anyone else is as it was (this model replaces exactly the slice's records).
    Without a slice it does nothing. -#}
{% macro record_slice_changed_persons() -%}
    {%- if builds_slice() -%}
        {%- set changed -%}
    select before.person_key from {{ slice_persons_before() }} as before
    union
    select keys.person_key from ({{ slice_person_keys() }}) as keys
    union
    select records.person_key
    from {{ this }} as records
    where
        (records.body, records.source_entity, records.source_period)
        in ({{ slice_periods() }})
        {%- endset -%}
        {{ refill_slice_table(slice_persons_changed(), 'person_key', changed) }}
    {%- endif -%}
{%- endmacro %}

{#- A table of one column (text) of a slice build's own, made if missing and refilled from a
    query, with statistics for the planner (autovacuum never sees it in time). -#}
{% macro refill_slice_table(table, column, query) -%}
    create table if not exists {{ table }} ({{ column }} text);
    truncate {{ table }};
    insert into {{ table }} ({{ column }})
    {{ query }};
    analyze {{ table }}
{%- endmacro %}

{% macro slice_persons_changed() -%}
    {{ var('schema_intermediate') }}.slice_persons_changed
{%- endmacro %}

{#- The people a slice changes (record_slice_changed_persons), as rows (person_key). -#}
{% macro slice_changed_persons() -%}
    select changed.person_key from {{ slice_persons_changed() }} as changed
{%- endmacro %}

{#- Whether a row's column is among `members` (a query) in a slice build; always, without a
    slice: the rows a model built by person or household reads. -#}
{% macro in_slice_build(column, members) -%}
    {%- if builds_slice() -%}
        {{ column }} in ({{ members }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Whether a row (its person_key column) is one of the slice's changed people (in a slice
    build). -#}
{% macro of_slice_person(person_key) -%}
    {{ in_slice_build(person_key, slice_changed_persons()) }}
{%- endmacro %}

{#- slice_condition of the models with one row per person, or per person and month
    (int_person_months_located, dim_person): every row of the slice's changed people. -#}
{% macro person_in_slice(built) -%}
    {{ built }}.person_key in ({{ slice_changed_persons() }})
{%- endmacro %}

{#- Pre-hook of int_person_months_located: the households its slice build is about to take the
    changed people out of, kept in intermediate.slice_households_before, so dim_household
    recounts them too (a household a person left). It runs after int_person_records_keyed is
    built and before the model replaces its rows; without a slice it does nothing. -#}
{% macro capture_slice_households() -%}
    {%- if builds_slice() -%}
        {%- set left -%}
    select distinct built.household_key
    from {{ this }} as built
    where {{ person_in_slice('built') }}
        {%- endset -%}
        {{ refill_slice_table(slice_households_before(), 'household_key', left) }}
    {%- endif -%}
{%- endmacro %}

{% macro slice_households_before() -%}
    {{ var('schema_intermediate') }}.slice_households_before
{%- endmacro %}

{#- The households a slice changes: where its changed people lived before the build and where
    they live now (int_person_months_located, already rebuilt). `persons`: a query of people
    whose households now count too (by default the changed people; anyone else's households
    are as they were before the build). -#}
{% macro slice_changed_households(persons=none) -%}
    select before.household_key from {{ slice_households_before() }} as before
    union
    select located.household_key
    from {{ ref('int_person_months_located') }} as located
    where located.person_key in ({{ persons or slice_changed_persons() }})
{%- endmacro %}

{#- Pre-hook of dim_household: the slice's changed households (above), worked out once per build
    into intermediate.slice_households_changed for its select, its delete and its data tests,
    which each scanned int_person_months_located for them before. Without a slice it does
    nothing. -#}
{% macro record_slice_changed_households() -%}
    {%- if builds_slice() -%}
        {{ refill_slice_table(slice_households_changed(), 'household_key', slice_changed_households()) }}
    {%- endif -%}
{%- endmacro %}

{% macro slice_households_changed() -%}
    {{ var('schema_intermediate') }}.slice_households_changed
{%- endmacro %}

{#- The households dim_household's slice build replaces (record_slice_changed_households), as rows
    (household_key). -#}
{% macro slice_households_replaced() -%}
    select changed.household_key from {{ slice_households_changed() }} as changed
{%- endmacro %}

{#- Whether a row (its household_key column) is of one of the slice's changed households (in a
    slice build). -#}
{% macro of_slice_household(household_key) -%}
    {{ in_slice_build(household_key, slice_households_replaced()) }}
{%- endmacro %}

{#- slice_condition of dim_household: every row of the slice's changed households. -#}
{% macro household_in_slice(built) -%}
    {{ built }}.household_key in ({{ slice_households_replaced() }})
{%- endmacro %}
