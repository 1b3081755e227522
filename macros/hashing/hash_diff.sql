{#- Hashdiff of descriptive columns (DESIGN.md §5): the hash_key rule without upper-casing, columns in
    sorted order (so reordering a model's column list never changes a hashdiff). -#}
{% macro hash_diff(columns) -%}
    {%- if columns is string -%}{%- set columns = [columns] -%}{%- endif -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error("hash_diff needs at least one column") }}
    {%- endif -%}
    {{ return(adapter.dispatch('hash_diff', 'cdm')(columns | sort)) }}
{%- endmacro %}

{% macro default__hash_diff(columns) -%}
    {%- set parts = [] -%}
    {%- for col in columns -%}
        {%- do parts.append("coalesce(nullif(" ~ cdm.trim_spaces(cdm.hash_text(col)) ~ ", ''), '" ~ var('hash_null') ~ "')") -%}
    {%- endfor -%}
    md5({{ parts | join(" || '" ~ var('hash_delimiter') ~ "' || ") }})
{%- endmacro %}
