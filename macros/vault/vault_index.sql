{#- The index a vault table's lookups need. PostgreSQL: a btree on the lookup column(s) (hash key of a
    hub or link, load_dts of a satellite, the event time of a non-historized link), so a day's load
    reads the part of the table it needs. DuckDB: nothing (its zone maps already skip row groups). -#}
{% macro vault_index(relation, columns) -%}
    {{ return(adapter.dispatch('vault_index', 'cdm')(relation, cdm.as_list(columns))) }}
{%- endmacro %}

{% macro default__vault_index(relation, columns) -%}
{%- endmacro %}

{% macro postgres__vault_index(relation, columns) -%}
    create index if not exists {{ relation.identifier }}__{{ columns | join('__') }}
    on {{ relation }} ({{ columns | join(', ') }})
{%- endmacro %}
