{#- Reference table: code lists (contact status, response type) with their versions.
      {{ cdm.ref_table(key='contact_status_id', hashdiff='hashdiff', attributes=[...], source='...') }}
    A code's version is (code, hashdiff): a daily full delivery of unchanged codes adds nothing; a
    changed description adds a version, first seen. -#}
{% macro ref_table(key, hashdiff, attributes, source) -%}
    {{ cdm.require_args('ref_table', {'key': key, 'hashdiff': hashdiff, 'attributes': attributes,
                                      'source': source}) }}
    {{ return(adapter.dispatch('ref_table', 'cdm')(key, hashdiff, cdm.as_list(attributes), source)) }}
{%- endmacro %}

{% macro default__ref_table(key, hashdiff, attributes, source) -%}
with batch as (
    select
        {{ key }},
        {{ hashdiff }} as hashdiff,
        {{ attributes | join(', ') }},
        {{ cdm.vault_metadata() }},
        row_number() over (partition by {{ key }}, {{ hashdiff }} order by load_dts, load_id) as seen_order
    from {{ ref(source) }}
)

select
    batch.{{ key }},
    batch.hashdiff,
    {% for a in attributes %}batch.{{ a }},{% endfor %}
    batch.load_dts,
    batch.business_date,
    batch.record_source,
    batch.load_id
from batch
where batch.seen_order = 1
{%- if vault_relation_exists() %}
    and not exists (
        select 1 from {{ this }} as existing
        where existing.{{ key }} = batch.{{ key }} and existing.hashdiff = batch.hashdiff
    )
{%- endif %}
{%- endmacro %}
