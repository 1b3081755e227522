{#- Rows whose column holds a given value. Used with severity warn to surface quarantined rows (e.g. a
    write-back row rejected with ML_SCORE_INVALID): they are counted in `dq build`, not lost. -#}
{% test value_absent(model, column_name, value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} = '{{ value }}'
{% endtest %}
