{#- Hub: one row per business key, first seen. Config plus one call:
      {{ cdm.hub(hk='customer_hk', bk='customer_id', sources=['stg_mdm__customer', ...]) }}
    Reads only the staged batch and reduces it to distinct keys before anything else; later builds
    emit only keys the hub does not have. The ghost record is written once, on the first build. -#}
{% macro hub(hk, bk, sources) -%}
    {{ cdm.require_args('hub', {'hk': hk, 'bk': bk, 'sources': sources}) }}
    {{ config(post_hook="{{ cdm.vault_index(this, '" ~ hk ~ "') }}") }}
    {{ return(adapter.dispatch('hub', 'cdm')(hk, cdm.as_list(bk), cdm.as_list(sources))) }}
{%- endmacro %}

{% macro default__hub(hk, bks, sources) -%}
{{ cdm.new_keys(hk, bks, sources) }}
{%- if not vault_relation_exists() %}
union all
select
    {{ cdm.ghost_key() }} as {{ hk }},
    {% for bk in bks %}null as {{ bk }},{% endfor %}
    {{ cdm.ghost_metadata() }}
{%- endif %}
{%- endmacro %}
