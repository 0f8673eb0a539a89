{#- Standardising macros used by the staging models. -#}

{#- One sex code set for every body: M, F, X (indeterminate/other), U (not known). -#}
{% macro standardise_sex(column) -%}
    case upper(trim({{ column }}))
        when 'M' then 'M'
        when 'MALE' then 'M'
        when '1' then 'M'
        when 'F' then 'F'
        when 'FEMALE' then 'F'
        when '2' then 'F'
        when 'X' then 'X'
        when 'I' then 'X'
        when 'OTHER' then 'X'
        else 'U'
    end
{%- endmacro %}

{#- A UPRN as digits without leading zeros, or null when nothing usable was given. -#}
{% macro standardise_uprn(column) -%}
    nullif(ltrim(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '0'), '')
{%- endmacro %}

{#- A UK postcode in upper case with one space before the inward code (e.g. 'AB1 2CD'). -#}
{% macro standardise_postcode(column) -%}
    case
        when length(regexp_replace(upper({{ column }}), '[^A-Z0-9]', '', 'g')) between 5 and 7
            then
                left(
                    regexp_replace(upper({{ column }}), '[^A-Z0-9]', '', 'g'),
                    length(regexp_replace(upper({{ column }}), '[^A-Z0-9]', '', 'g')) - 3
                )
                || ' '
                || right(regexp_replace(upper({{ column }}), '[^A-Z0-9]', '', 'g'), 3)
    end
{%- endmacro %}

{#- The postcode district (outward code) of a standardised postcode. -#}
{% macro postcode_district(column) -%}
    split_part({{ column }}, ' ', 1)
{%- endmacro %}

{#- A code value in lower snake case, or null when empty. -#}
{% macro standardise_code(column) -%}
    nullif(regexp_replace(lower(trim({{ column }})), '[^a-z0-9]+', '_', 'g'), '')
{%- endmacro %}

{#- Free text trimmed, inner whitespace collapsed, null when empty. -#}
{% macro clean_text(column) -%}
    nullif(regexp_replace(trim({{ column }}), '\s+', ' ', 'g'), '')
{%- endmacro %}

{#- The first day of a delivery period 'YYYY-MM'. -#}
{% macro period_start(column) -%}
    to_date({{ column }} || '-01', 'YYYY-MM-DD')
{%- endmacro %}

{#- The interim regional person key used until identity resolution has keyed a record. -#}
{% macro interim_person_key(body, person_ref_token) -%}
    'interim:' || md5({{ body }} || ':' || {{ person_ref_token }})
{%- endmacro %}

{#- The pseudonymous household key: the people at one property in one month. Made from the
    keyed property key (stg_linkage__property_keys), never from the UPRN: anyone can hash a
    public UPRN and a month, nobody can make a property key without the pseudonymisation key. -#}
{% macro household_key(property_key, month_start) -%}
    md5('household:' || {{ property_key }} || ':' || to_char({{ month_start }}, 'YYYY-MM'))
{%- endmacro %}

{#- The lineage columns every staging model carries, renamed from raw's underscored names. -#}
{% macro staging_lineage_columns() -%}
    _delivery_id as delivery_id,
    _period as source_period,
    {{ period_start('_period') }} as period_start,
    _source_row_number as source_row_number,
    _loaded_at as loaded_at
{%- endmacro %}

{#- An NHS number token kept only when the delivered number passed the modulus-11 check. -#}
{% macro valid_nhs_number_token(prefix) -%}
    case when {{ prefix }}_is_valid then {{ prefix }}_token end
{%- endmacro %}
