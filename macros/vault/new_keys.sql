{#- The shared body of hubs and links: the keys of the staged batch (from one or more staging models),
    reduced to distinct keys first, each with the metadata of its first sighting; on later builds only
    the keys the table does not have yet. The ghost key is skipped: it is never a real row. -#}
{% macro new_keys(hk, columns, sources) -%}
with
{% for source_model in sources %}
source_{{ loop.index }} as (
    select distinct
        {{ hk }},
        {{ columns | join(', ') }},
        {{ cdm.vault_metadata() }}
    from {{ ref(source_model) }}
    where {{ hk }} <> {{ cdm.ghost_key() }}
),
{% endfor %}

batch as (
    {% for source_model in sources %}
    select * from source_{{ loop.index }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

first_seen as (
    select
        *,
        row_number() over (partition by {{ hk }} order by load_dts, record_source, load_id) as seen_order
    from batch
)

select
    {{ hk }},
    {{ columns | join(', ') }},
    {{ cdm.vault_metadata() }}
from first_seen
where seen_order = 1
{%- if vault_relation_exists() %}
    and not exists (
        select 1 from {{ this }} as existing
        where existing.{{ hk }} = first_seen.{{ hk }}
    )
{%- endif %}
{%- endmacro %}
