{#- Models land in exactly the schema configured for their folder (staging, intermediate,
    core, marts_build), never in a target-prefixed one, so every tool finds them by name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
