{#- Non-historized link: one row per event (a contact, a response) with its immutable attributes.
      {{ cdm.nh_link(hk='contact_hk', parents=['customer_hk', 'cell_hk'],
                     attributes=['package_id', 'contact_date_time'], source='stg_mdm__contact_history',
                     lookup_column='contact_date_time') }}
    A restated event (same key again) adds nothing: the first delivery wins (changing attributes of an
    event, like a contact's status, belong in a satellite on the link). `lookup_column` is an immutable
    attribute of the event: existing rows are looked up only inside the batch's range of it, so a day's
    load reads the recent part of the link, not its whole history. -#}
{% macro nh_link(hk, parents, attributes, source, lookup_column=none) -%}
    {{ cdm.require_args('nh_link', {'hk': hk, 'parents': parents, 'attributes': attributes, 'source': source}) }}
    {{ config(post_hook="{{ cdm.vault_index(this, '" ~ (lookup_column or hk) ~ "') }}") }}
    {{ return(adapter.dispatch('nh_link', 'cdm')(hk, cdm.as_list(parents), cdm.as_list(attributes), source,
                                                 lookup_column)) }}
{%- endmacro %}

{% macro default__nh_link(hk, parents, attributes, source, lookup_column) -%}
with batch as (
    select
        {{ hk }},
        {{ parents | join(', ') }},
        {{ attributes | join(', ') }},
        {{ cdm.vault_metadata() }},
        row_number() over (partition by {{ hk }} order by load_dts, source_row_number) as delivery_order
    from {{ ref(source) }}
    where {{ hk }} <> {{ cdm.ghost_key() }}
),

first_delivery as (
    select * from batch where delivery_order = 1
)
{%- if vault_relation_exists() %},

existing as (
    select existing_rows.{{ hk }}
    from {{ this }} as existing_rows
    {%- if lookup_column %}
    where existing_rows.{{ lookup_column }} between (select min(b.{{ lookup_column }}) from first_delivery as b)
        and (select max(b.{{ lookup_column }}) from first_delivery as b)
    {%- endif %}
)
{%- endif %}

select
    first_delivery.{{ hk }},
    {% for p in parents %}first_delivery.{{ p }},{% endfor %}
    {% for a in attributes %}first_delivery.{{ a }},{% endfor %}
    first_delivery.load_dts,
    first_delivery.business_date,
    first_delivery.record_source,
    first_delivery.load_id
from first_delivery
{%- if vault_relation_exists() %}
left join existing on first_delivery.{{ hk }} = existing.{{ hk }}
where existing.{{ hk }} is null
{%- endif %}
{%- endmacro %}
