{#- The business dates a run loads: `--vars '{load_from: D1, load_to: D2}'` when given, otherwise the
    window in meta.load_window (set by `dq ingest` to the date it landed and by `dq build` to the range
    it builds). Reading the window at run time, not parse time, keeps one parse for every date. -#}
{% macro batch_filter(column) -%}
    {%- set load_from = var('load_from', none) -%}
    {%- set load_to = var('load_to', load_from) -%}
    {%- if load_from is not none -%}
        {{ column }} between cast('{{ load_from }}' as date) and cast('{{ load_to }}' as date)
    {%- else -%}
        {{ column }} between (select w.from_date from {{ source('meta', 'load_window') }} as w)
        and (select w.to_date from {{ source('meta', 'load_window') }} as w)
    {%- endif -%}
{%- endmacro %}
