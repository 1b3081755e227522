{#- The technical columns staging adds to every LDZ row. load_dts is the batch's business date at
    midnight, not the wall clock: a rerun, a late load or a recovery writes exactly what an on-time
    load would have (DESIGN.md §6). -#}
{% macro stg_metadata(table_name) -%}
    cast(_business_date as timestamp) as load_dts,
    _business_date as business_date,
    cast('mdm.{{ table_name }}' as varchar) as record_source,
    _load_id as load_id,
    _row_number as source_row_number
{%- endmacro %}
