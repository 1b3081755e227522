{#- Layers own their schemas: a folder's `+schema` is used as-is (ldz, rdv, c360 ...), not prefixed
    with the target schema, so every target has the same layout DESIGN.md §4 names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
