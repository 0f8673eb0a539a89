{#- Sums over windows of months around each month, written once (a list of (column, measure,
    first, last)) and rendered two ways: as window functions over a person's months, or as
    aggregates over pairs of a month and a month around it. A window's (first, last) are in
    months relative to the month itself: (-11, 0) is the 12 months to the month's end, (1, 6)
    the six months after it. Both count a month whose month_start falls in the range, so both
    give the same sums. -#}

{#- Each window's sum of its measure as a window function over `rows` (an alias with person_key
    and month_start), comma separated. -#}
{% macro month_window_sums_over(window_sums, rows) -%}
    {%- for name, measure, first, last in window_sums %}
    sum({{ rows }}.{{ measure }}) over (
        partition by {{ rows }}.person_key
        order by {{ rows }}.month_start
        range between {{ _month_frame_bound(first) }} and {{ _month_frame_bound(last) }}
    ) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro _month_frame_bound(offset) -%}
    {%- if offset == 0 -%}
        current row
    {%- else -%}
        interval '{{ offset | abs }} months' {{ 'preceding' if offset < 0 else 'following' }}
    {%- endif -%}
{%- endmacro %}

{#- Each window's sum of its measure as an aggregate over `pairs` (an alias with the measures and
    month_offset, month_offset(): the months from the month summed for to the month paired with
    it), comma separated. -#}
{% macro month_window_sums_by_offset(window_sums, pairs) -%}
    {%- for name, measure, first, last in window_sums %}
    sum({{ pairs }}.{{ measure }}) filter (
        where {{ pairs }}.month_offset between {{ first }} and {{ last }}
    ) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- Whole months from the first of month `anchor` to the first of month `month` (negative when
    `month` is earlier). An integer, from date_part's double precision rather than extract's
    numeric, worked out once per pair (materialized) so that the aggregates' many filters
    compare integers: computed again in each of seventeen filters, in numeric, the aggregate
    over 186k pairs at 100k residents took 1.8 s longer (EXPLAIN ANALYZE). -#}
{% macro month_offset(month, anchor) -%}
    (
        (date_part('year', {{ month }}) - date_part('year', {{ anchor }})) * 12
        + date_part('month', {{ month }}) - date_part('month', {{ anchor }})
    )::integer
{%- endmacro %}
