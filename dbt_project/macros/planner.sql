{#- Planner hygiene for PostgreSQL. The models are a few large joins over tables that were
    just written (by the loader, identity resolution or dbt itself), so the planner often has
    no statistics for them yet: autovacuum analyses a table only on its next round, and not
    at all when it is off. Without statistics PostgreSQL guesses a few hundred rows per table
    and picks plans that are orders of magnitude slower (int_person_records_keyed: a merge
    join on body alone, 55 s instead of about 1 s on the 20k demo region), and its inflated
    cost estimates switch on JIT compilation, which then takes longer than the query. -#}

{#- on-run-start: ANALYZE the source tables whose statistics are missing or stale by
    autovacuum's own rule (changed rows since the last analyse > 50 + 10 % of the table), so
    a run plans on the data it reads. A table the role may not analyse is skipped by
    PostgreSQL with a warning. A raw source is read through its lineage view
    (identifier <table>__lineage): the table behind it, named as the source, is analysed.
    Given a delivery's slice (macros/slices.sql), the tables of its extracts are analysed
    whatever their change count: a new month is a few per cent of its table, far below
    autovacuum's rule, yet without it the planner takes the month for one row and joins it by
    nested loop (one police month at 100k residents: 724 incidents against every police
    address match, 30 s in int_person_records_keyed and as long in fct_service_contact). -#}
{% macro analyze_stale_sources() -%}
    {%- if execute -%}
        {%- set tables = [] -%}
        {%- set delivered = [] -%}
        {%- set extracts = [] -%}
        {%- for period in (delivery_slice() or {}).get('periods') or [] -%}
            {%- do extracts.append(('raw_' ~ period.body, period.entity)) -%}
        {%- endfor -%}
        {%- for source in graph.sources.values() -%}
            {%- do tables.append("('" ~ source.schema ~ "', '" ~ source.identifier ~ "')") -%}
            {%- do tables.append("('" ~ source.schema ~ "', '" ~ source.name ~ "')") -%}
            {%- if (source.source_name, source.name) in extracts -%}
                {%- do delivered.append("('" ~ source.schema ~ "', '" ~ source.name ~ "')") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if tables -%}
            {%- set stale_query -%}
                select format('%I.%I', schemaname, relname)
                from pg_stat_user_tables
                where
                    (schemaname, relname) in ({{ tables | unique | join(', ') }})
                    and (
                        coalesce(last_analyze, last_autoanalyze) is null
                        or n_mod_since_analyze > 50 + 0.1 * n_live_tup
                        {%- if delivered %}
                        or (schemaname, relname) in ({{ delivered | unique | join(', ') }})
                        {%- endif %}
                    )
                order by 1
            {%- endset -%}
            {%- set stale = run_query(stale_query).columns[0].values() -%}
            {%- if stale -%}
                {%- do log("analyze " ~ (stale | length) ~ " source tables with stale statistics") -%}
                {%- do run_query("analyze " ~ (stale | join(', '))) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- post-hook of every table a model builds: statistics for the models downstream of it. -#}
{% macro analyze_this() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
