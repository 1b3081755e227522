{#- The ghost key as a SQL literal: what NULL or blank business keys resolve to. -#}
{% macro ghost_key() -%}
    '{{ var("ghost_key") }}'
{%- endmacro %}
