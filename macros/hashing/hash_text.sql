{#- A value as the text that is hashed. DuckDB and PostgreSQL print dates as YYYY-MM-DD, timestamps as
    YYYY-MM-DD HH:MM:SS and numeric(18,2) with two decimals, so one cast serves both. -#}
{% macro hash_text(expr) -%}
    {{ return(adapter.dispatch('hash_text', 'cdm')(expr)) }}
{%- endmacro %}

{% macro default__hash_text(expr) -%}
    cast({{ expr }} as varchar)
{%- endmacro %}
