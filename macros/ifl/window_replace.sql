{#- Incremental strategy `window_replace` (config: incremental_strategy='window_replace', unique_key, and
    `window_column`, default business_date): the new rows replace (1) the target's rows whose
    window_column lies in the load window (cdm.batch_filter) and (2) the rows of any key the new rows
    carry from outside the window (e.g. ifl_contact's restated contacts: usually none). Then they are
    inserted. (1) reads only the window's part of the target; (2) probes by key only the keys of new rows
    dated outside the window — unlike delete+insert, which probes the whole target by every new key.
    The model must emit every key of the window (its rows are deleted whatever the new rows hold). -#}
{% macro get_incremental_window_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set new_rows = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set window_column = config.get('window_column', 'business_date') -%}
    {%- if key is none or key is not string -%}
        {{ exceptions.raise_compiler_error("window_replace needs one unique_key column (got " ~ key ~ ")") }}
    {%- endif -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }}
    where {{ cdm.batch_filter(window_column) }};

    delete from {{ target }}
    where {{ key }} in (
        select outside.{{ key }} from {{ new_rows }} as outside
        where not ({{ cdm.batch_filter('outside.' ~ window_column) }})
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ new_rows }}
{%- endmacro %}
