{#- True when a vault table already exists and this is not a full refresh: the vault macros then emit
    only what is new (is_incremental() answers only for the built-in incremental materialization).
    The vault macros call it unqualified so that a dbt unit test can override it (overrides: macros). -#}
{% macro vault_relation_exists() -%}
    {%- if not execute or flags.FULL_REFRESH -%}{{ return(false) }}{%- endif -%}
    {{ return(load_relation(this) is not none) }}
{%- endmacro %}
