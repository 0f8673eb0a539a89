{% macro delete_vanished_slices(upstream, columns) %}
{#- Post-hook of the incremental models built by delivery slice. delete+insert replaces only the
    slices that still have rows upstream; a slice whose period the ledger now says has none (a
    re-delivery that emptied it, approved by an operator, or a period expired at the end of
    retention) would keep its old rows. This deletes them, so an incremental build equals a
    full refresh. -#}
delete from {{ this }} as built
where not exists (
    select from {{ upstream }} as current_rows
    where
    {%- for column in columns %}
        current_rows.{{ column }} = built.{{ column }}{% if not loop.last %} and{% endif %}
    {%- endfor %}
)
{% endmacro %}
