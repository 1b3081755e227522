{#- Satellite: the versions of a parent's descriptive attributes.
      {{ cdm.sat(parent_hk='customer_hk', hashdiff='profile_hashdiff', attributes=[...],
                 source='stg_mdm__customer') }}
    A version is identified by (parent key, load_dts, effective_from, hashdiff, load_id): every version
    the source delivers is kept, several changes of one key in one batch included. A batch row is new unless
    the latest landing (load_id) of the same parent, load_dts and effective_from already has its hashdiff:
    so reloading a business date, or landing it again unchanged, adds nothing, while landing it again with
    other values adds them (a correction), and landing the original values again after that adds them once
    more (the correction undone; that landing's load_id makes it the latest). History is ordered by
    effective_from (the source's change time), then load_dts, then load_id. Because nothing is compared
    across load dates, loading dates out of order gives the same satellite as loading them in order.
    Existing rows are read only inside the batch's load_dts range. The ghost record is written once, on
    the first build. `multi_active` names the attributes that tell a parent's simultaneous versions apart
    (e.g. one score per model_name): the latest landing is then looked up per parent and those attributes. -#}
{% macro sat(parent_hk, hashdiff, attributes, source, effective_from='effective_from', multi_active=[]) -%}
    {{ cdm.require_args('sat', {'parent_hk': parent_hk, 'hashdiff': hashdiff, 'attributes': attributes,
                                'source': source, 'effective_from': effective_from}) }}
    {{ config(post_hook="{{ cdm.vault_index(this, ['load_dts', '" ~ parent_hk ~ "']) }}") }}
    {{ return(adapter.dispatch('sat', 'cdm')(parent_hk, hashdiff, cdm.as_list(attributes), source,
                                             effective_from, cdm.as_list(multi_active))) }}
{%- endmacro %}

{% macro default__sat(parent_hk, hashdiff, attributes, source, effective_from, multi_active) -%}
{%- set version_of = [parent_hk, 'load_dts', 'effective_from'] + multi_active %}
with batch as (
    select distinct
        {{ parent_hk }},
        {{ effective_from }} as effective_from,
        {{ hashdiff }} as hashdiff,
        {{ attributes | join(', ') }},
        {{ cdm.vault_metadata() }}
    from {{ ref(source) }}
    where {{ parent_hk }} <> {{ cdm.ghost_key() }}
)
{%- if vault_relation_exists() %},

-- per parent, load_dts and effective_from (and multi-active attributes): the hashdiff of its latest landing
latest_landing as (
    select
        {%- for c in version_of %}
        existing_rows.{{ c }},
        {%- endfor %}
        existing_rows.hashdiff,
        row_number() over (
            partition by {% for c in version_of %}existing_rows.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
            order by existing_rows.load_id desc
        ) as landing_rank
    from {{ this }} as existing_rows
    where existing_rows.load_dts between (select min(b.load_dts) from batch as b)
        and (select max(b.load_dts) from batch as b)
)
{%- endif %}

select
    batch.{{ parent_hk }},
    batch.effective_from,
    batch.hashdiff,
    {% for a in attributes %}batch.{{ a }},{% endfor %}
    batch.load_dts,
    batch.business_date,
    batch.record_source,
    batch.load_id
from batch
{%- if vault_relation_exists() %}
left join latest_landing
    on latest_landing.landing_rank = 1
    {%- for c in version_of %}
    and batch.{{ c }} = latest_landing.{{ c }}
    {%- endfor %}
where latest_landing.{{ parent_hk }} is null or latest_landing.hashdiff <> batch.hashdiff
{%- else %}
union all
select
    {{ cdm.ghost_key() }} as {{ parent_hk }},
    cast('1900-01-01 00:00:00' as timestamp) as effective_from,
    {{ cdm.ghost_key() }} as hashdiff,
    {% for a in attributes %}null as {{ a }},{% endfor %}
    {{ cdm.ghost_metadata() }}
{%- endif %}
{%- endmacro %}
