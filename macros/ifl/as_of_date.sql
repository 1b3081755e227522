{#- The business date the interface and 360 layers are built "as of", as a SQL date expression:
    `--vars '{as_of: YYYY-MM-DD}'` when given, else `load_to` when given, else the end of the load window
    in meta.load_window (the last date `dq build` / `dq ingest` set). Read at run time, so one parse
    serves every date. -#}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of', var('load_to', var('load_from', none))) -%}
    {%- if as_of is not none -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        (select w.to_date from {{ source('meta', 'load_window') }} as w)
    {%- endif -%}
{%- endmacro %}
