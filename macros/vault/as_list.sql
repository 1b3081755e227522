{#- A column argument as a list (callers may pass one name or several). -#}
{% macro as_list(value) -%}
    {{ return([value] if value is string else value) }}
{%- endmacro %}
