{#- numerator / denominator as a double; 0 when the denominator is 0 or NULL (a KPI with no activity
    is 0, never NULL). Both arguments are SQL expressions. -#}
{% macro safe_ratio(numerator, denominator) -%}
    case
        when coalesce({{ denominator }}, 0) = 0 then cast(0 as double precision)
        else cast(coalesce({{ numerator }}, 0) as double precision) / {{ denominator }}
    end
{%- endmacro %}
