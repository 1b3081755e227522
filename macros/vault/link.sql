{#- Link: one row per combination of parent keys, first seen. Config plus one call:
      {{ cdm.link(hk='flowchart_campaign_hk', parents=['flowchart_hk', 'campaign_hk'],
                  sources=['stg_mdm__flowchart']) }}
    A parent that is NULL in the source points at the ghost record of its hub. -#}
{% macro link(hk, parents, sources) -%}
    {{ cdm.require_args('link', {'hk': hk, 'parents': parents, 'sources': sources}) }}
    {{ config(post_hook="{{ cdm.vault_index(this, '" ~ hk ~ "') }}") }}
    {{ return(adapter.dispatch('link', 'cdm')(hk, cdm.as_list(parents), cdm.as_list(sources))) }}
{%- endmacro %}

{% macro default__link(hk, parents, sources) -%}
{{ cdm.new_keys(hk, parents, sources) }}
{%- endmacro %}
