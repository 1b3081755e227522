{#- The technical columns every vault row carries (DESIGN.md §4), in order. -#}
{% macro vault_metadata() -%}
    load_dts, business_date, record_source, load_id
{%- endmacro %}
