{#- Upper-case the ASCII letters of a text expression; every other character is kept as it is. -#}
{% macro ascii_upper(expr) -%}
    translate({{ expr }}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
{%- endmacro %}
