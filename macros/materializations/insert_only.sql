{#- insert_only: the vault's materialization. The first build creates the table from the model's SQL;
    every later build runs ONE `insert into ... select` of the model's SQL (which, through the vault
    macros, selects only what is new). Unlike the incremental materialization it never stages the batch
    in a temporary table first, so every row is written once (PERFORMANCE.md, "writing twice"). -#}
{% materialization insert_only, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing = load_cached_relation(this) -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if existing is none or should_full_refresh() -%}
        {%- if existing is not none -%}
            {{ adapter.drop_relation(existing) }}
        {%- endif -%}
        {%- call statement('main') -%}
            {{ get_create_table_as_sql(False, target_relation, sql) }}
        {%- endcall -%}
    {%- else -%}
        {%- set columns = adapter.get_columns_in_relation(target_relation) -%}
        {%- set column_list = columns | map(attribute='quoted') | join(', ') -%}
        {%- call statement('main') -%}
            insert into {{ target_relation }} ({{ column_list }})
            select {{ column_list }} from ({{ sql }}) as new_rows
        {%- endcall -%}
    {%- endif -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
