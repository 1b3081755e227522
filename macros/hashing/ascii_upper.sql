{#- Upper-case the ASCII letters of a text expression; every other character is kept as it is.
    translate() is the portable definition, but it is the costliest part of a hash key (on DuckDB and
    PostgreSQL several times the MD5 itself), so the engines that can do the same faster do. Same
    bytes on every engine: tests/test_hashing.py. -#}
{% macro ascii_upper(expr) -%}
    {{ return(adapter.dispatch('ascii_upper', 'cdm')(expr)) }}
{%- endmacro %}

{% macro default__ascii_upper(expr) -%}
    translate({{ expr }}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
{%- endmacro %}

{#- DuckDB: only a value holding an ASCII lower-case letter (rare in business keys) pays for translate();
    for any other value translate() is the identity. GLOB does not depend on the session's collation. -#}
{% macro duckdb__ascii_upper(expr) -%}
    case when {{ expr }} glob '*[a-z]*' then {{ cdm.default__ascii_upper(expr) }} else {{ expr }} end
{%- endmacro %}

{#- PostgreSQL: under the "C" collation upper() changes exactly the ASCII letters, whatever the database's
    locale. -#}
{% macro postgres__ascii_upper(expr) -%}
    upper(({{ expr }}) collate "C")
{%- endmacro %}
