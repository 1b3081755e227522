{#- Hash key of business-key columns (DESIGN.md §5), the one place keys are hashed.
    Each part: cast to text, trim spaces, upper-case ASCII letters, NULL or empty => var('hash_null');
    parts joined with var('hash_delimiter'); MD5 as 32 lower-case hex characters. A key whose parts
    are all NULL or empty is the ghost key (var('ghost_key')) and never a real hub row.
    Upper-casing is ASCII-only (translate) on purpose: upper() follows the server locale, so 'é' would
    hash differently on DuckDB and on a C-locale PostgreSQL; translate gives the same bytes everywhere. -#}
{% macro hash_key(columns) -%}
    {%- if columns is string -%}{%- set columns = [columns] -%}{%- endif -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error("hash_key needs at least one column") }}
    {%- endif -%}
    {{ return(adapter.dispatch('hash_key', 'cdm')(columns)) }}
{%- endmacro %}

{% macro default__hash_key(columns) -%}
    {%- set parts = [] -%}
    {%- set blanks = [] -%}
    {%- for col in columns -%}
        {%- set text = cdm.trim_spaces(cdm.hash_text(col)) -%}
        {%- do parts.append("coalesce(nullif(" ~ cdm.ascii_upper(text) ~ ", ''), '" ~ var('hash_null') ~ "')") -%}
        {%- do blanks.append("nullif(" ~ text ~ ", '') is null") -%}
    {%- endfor -%}
    case
        when {{ blanks | join(' and ') }} then '{{ var("ghost_key") }}'
        else md5({{ parts | join(" || '" ~ var('hash_delimiter') ~ "' || ") }})
    end
{%- endmacro %}
