{#- Satellite: the versions of a parent's descriptive attributes.
      {{ cdm.sat(parent_hk='customer_hk', hashdiff='profile_hashdiff', attributes=[...],
                 source='stg_mdm__customer') }}
    A version is identified by (parent key, load_dts, effective_from, hashdiff): every version the
    source delivers is kept, several changes of one key in one batch included; reloading a business
    date adds nothing (same load_dts). History is ordered by effective_from (the source's change time),
    then load_dts. Because nothing is compared with "the latest row", loading dates out of order gives
    the same satellite as loading them in order. Existing rows are read only inside the batch's
    load_dts range. The ghost record is written once, on the first build. -#}
{% macro sat(parent_hk, hashdiff, attributes, source, effective_from='effective_from') -%}
    {{ cdm.require_args('sat', {'parent_hk': parent_hk, 'hashdiff': hashdiff, 'attributes': attributes,
                                'source': source, 'effective_from': effective_from}) }}
    {{ config(post_hook="{{ cdm.vault_index(this, ['load_dts', '" ~ parent_hk ~ "']) }}") }}
    {{ return(adapter.dispatch('sat', 'cdm')(parent_hk, hashdiff, cdm.as_list(attributes), source,
                                             effective_from)) }}
{%- endmacro %}

{% macro default__sat(parent_hk, hashdiff, attributes, source, effective_from) -%}
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

existing as (
    select
        existing_rows.{{ parent_hk }},
        existing_rows.load_dts,
        existing_rows.effective_from,
        existing_rows.hashdiff
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
left join existing
    on batch.{{ parent_hk }} = existing.{{ parent_hk }}
    and batch.load_dts = existing.load_dts
    and batch.effective_from = existing.effective_from
    and batch.hashdiff = existing.hashdiff
where existing.{{ parent_hk }} is null
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
