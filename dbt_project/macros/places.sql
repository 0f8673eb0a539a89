{#- Straight-line distance in metres between two places on the gazetteer's grid, from their
    numeric eastings and northings (exact; a point's floating-point `<->` only orders the
    nearest-neighbour searches). `a` and `b` are relations with easting and northing columns. -#}
{% macro grid_distance_m(a, b) -%}
    sqrt(
        power({{ a }}.easting - {{ b }}.easting, 2)
        + power({{ a }}.northing - {{ b }}.northing, 2)
    )
{%- endmacro %}
