{#- Table comments carry each model's purpose and disclosure level from its meta, so an analyst
    reading the database (psql \dt+, a BI tool) sees under which agreement a table may be used
    and whether it is aggregate or record level, not only the dbt docs. One owner: the meta. -#}
{% macro postgres__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set meta = model.config.get('meta', {}) or {} -%}
    {%- set labels = [] -%}
    {%- if meta.get('purpose') -%}
        {%- set purpose = meta['purpose'] -%}
        {%- do labels.append(
            'Purpose: ' ~ (purpose | join(', ') if purpose is not string else purpose) ~ '.'
        ) -%}
    {%- endif -%}
    {%- if meta.get('disclosure') -%}
        {%- do labels.append('Disclosure: ' ~ meta['disclosure'] | replace('_', ' ') ~ '.') -%}
    {%- endif -%}
    {%- if meta.get('grain') -%}
        {%- do labels.append('Grain: ' ~ meta['grain'] | replace('_', ' ') ~ '.') -%}
    {%- endif -%}
    {%- set described = model.copy() if labels else model -%}
    {%- if labels -%}
        {%- do described.update(
            {'description': (labels | join(' ')) ~ ' ' ~ (model.description or '')}
        ) -%}
    {%- endif -%}
    {{ return(default__persist_docs(relation, described, for_relation, for_columns)) }}
{%- endmacro %}
