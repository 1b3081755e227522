-- Counted contacts per customer and channel up to the as-of date D (what customer_360's preferred
-- channel ranks); only pairs with at least one. One snapshot per as-of date, refreshed like
-- customer_360_state: the previous snapshot plus the day's changes.
-- depends_on: {{ ref('s_contact_status') }}
-- depends_on: {{ ref('map_contact_status') }}
{%- set plan = cdm.c360_refresh_plan() %}
{{ config(
    post_hook=["{{ cdm.c360_snapshot_retention() }}", "{{ cdm.vault_index(this, ['as_of_date', 'customer_hk']) }}"]
) }}

with contact_changes as (
    {{ cdm.c360_contact_changes(plan) }}
),

delta as (
    select
        customer_hk,
        channel,
        {{ cdm.c360_window_sum('counted', 'contact_date') }} as contacts
    from contact_changes
    where channel is not null
    group by customer_hk, channel
),

{%- if plan.fast %}

    previous as (
        select
            customer_hk,
            channel,
            contacts
        from {{ this }}
        where as_of_date = {{ plan.prev }}
    ),

    combined as (
        select * from previous
        union all
        select * from delta
    ),

{%- else %}

    combined as (
        select * from delta
    ),

{%- endif %}

totals as (
    select
        customer_hk,
        channel,
        sum(contacts) as contacts
    from combined
    group by customer_hk, channel
),

final as (
    select
        {{ plan.as_of }} as as_of_date,
        customer_hk,
        channel,
        contacts,
        {{ cdm.c360_snapshot_columns(plan) }}
    from totals
    where contacts > 0
)

select * from final
