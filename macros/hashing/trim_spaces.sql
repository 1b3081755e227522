{#- A text expression without its leading and trailing spaces (' ' only; tabs, no-break and other Unicode
    spaces are kept). PostgreSQL's and Snowflake's trim() remove exactly that; DuckDB's also removes the
    Unicode space separators (U+00A0, U+3000, ...), so it names the character. Same bytes on every engine:
    tests/test_hashing.py. -#}
{% macro trim_spaces(expr) -%}
    {{ return(adapter.dispatch('trim_spaces', 'cdm')(expr)) }}
{%- endmacro %}

{% macro default__trim_spaces(expr) -%}
    trim({{ expr }})
{%- endmacro %}

{% macro duckdb__trim_spaces(expr) -%}
    trim({{ expr }}, ' ')
{%- endmacro %}
