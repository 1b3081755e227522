{#- Technical columns of a ghost record: loaded "before time" by the system, never by a source. -#}
{% macro ghost_metadata() -%}
    cast('1900-01-01 00:00:00' as timestamp) as load_dts,
    cast('1900-01-01' as date) as business_date,
    cast('SYSTEM' as varchar) as record_source,
    cast('GHOST' as varchar) as load_id
{%- endmacro %}
