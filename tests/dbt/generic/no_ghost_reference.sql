{#- Rows whose key points at the ghost record: a NULL or blank business key in the source. Used with
    severity warn and reason code NULL_KEY: the rows load (to the ghost) and are counted, not lost. -#}
{% test no_ghost_reference(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} = {{ cdm.ghost_key() }}
{% endtest %}
