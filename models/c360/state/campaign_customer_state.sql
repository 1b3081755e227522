-- Counted contacts per customer in each flowchart and in each campaign (`grain`), up to the as-of date
-- D; only pairs with at least one: what the unique-customer counts of campaign_360 and flowchart_360
-- count. Bounded by customers x flowcharts, not by history. One snapshot per as-of date, refreshed like
-- customer_360_state: the previous snapshot plus the day's changes.
-- depends_on: {{ ref('s_contact_status') }}
-- depends_on: {{ ref('map_contact_status') }}
{%- set plan = cdm.c360_refresh_plan() %}
{{ config(
    materialized='incremental',
    unique_key='as_of_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook=["{{ cdm.c360_snapshot_retention() }}", "{{ cdm.vault_index(this, ['as_of_date', 'grain', 'group_hk']) }}"]
) }}

with contact_changes as (
    {{ cdm.c360_contact_changes(plan) }}
),

delta as (
    {%- for grain in ['flowchart', 'campaign'] %}
        {%- if not loop.first %}
            union all
        {%- endif %}
        select
            '{{ grain }}' as grain,
            {{ grain }}_hk as group_hk,
            customer_hk,
            {{ cdm.c360_window_sum('counted', 'contact_date') }} as contacts
        from contact_changes
        where {{ grain }}_hk is not null
        group by {{ grain }}_hk, customer_hk
    {%- endfor %}
),

combined as (
    {%- if plan.fast %}
        select
            grain,
            group_hk,
            customer_hk,
            contacts
        from {{ this }}
        where as_of_date = {{ plan.prev }}
        union all
    {%- endif %}
    select * from delta
),

totals as (
    select
        grain,
        group_hk,
        customer_hk,
        sum(contacts) as contacts
    from combined
    group by grain, group_hk, customer_hk
),

final as (
    select
        {{ plan.as_of }} as as_of_date,
        grain,
        group_hk,
        customer_hk,
        contacts,
        {{ cdm.c360_snapshot_columns(plan) }}
    from totals
    where contacts > 0
)

select * from final
