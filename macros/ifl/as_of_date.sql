{#- The business date the interface and 360 layers are built "as of", as a SQL date expression:
    `--vars '{as_of: YYYY-MM-DD}'` when given, else `load_to` when given, else the as-of date of
    meta.load_window: the window's end (the last date `dq build` / `dq ingest` set), or the date Customer 360
    is already built as of when that is later (dbt_project/load_window.py: the published tables never move
    back). Read at run time, so one parse serves every date. -#}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of', var('load_to', var('load_from', none))) -%}
    {%- if as_of is not none -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        (select coalesce(w.as_of_date, w.to_date) from {{ source('meta', 'load_window') }} as w)
    {%- endif -%}
{%- endmacro %}
