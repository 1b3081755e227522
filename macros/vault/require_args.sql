{#- Fail the compile with a clear message when a vault macro is called without what it needs. -#}
{% macro require_args(macro_name, args) -%}
    {%- for name, value in args.items() -%}
        {%- if value is none or (value is not string and value is iterable and value | length == 0)
              or (value is string and value | trim == '') -%}
            {{ exceptions.raise_compiler_error(macro_name ~ ": argument '" ~ name ~ "' is required") }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
