{#- Seconds from timestamp `start` to timestamp `finish`, as a double, on every engine. -#}
{% macro seconds_between(start, finish) -%}
    {{ return(adapter.dispatch('seconds_between', 'cdm')(start, finish)) }}
{%- endmacro %}

{% macro default__seconds_between(start, finish) -%}
    cast(extract(epoch from ({{ finish }} - {{ start }})) as double precision)
{%- endmacro %}

{% macro duckdb__seconds_between(start, finish) -%}
    cast(epoch({{ finish }}) - epoch({{ start }}) as double precision)
{%- endmacro %}

{% macro snowflake__seconds_between(start, finish) -%}
    cast(datediff('second', {{ start }}, {{ finish }}) as double precision)
{%- endmacro %}
