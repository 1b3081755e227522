-- Counted contacts per customer in each flowchart and in each campaign (`grain`), as of the as-of date
-- D: what the unique-customer counts of campaign_360 and flowchart_360 count (pairs with contacts > 0).
-- Bounded by customers x flowcharts, not by history — and too big to copy every day, so it is kept in
-- place: a day rewrites only the pairs its changes touch (as_of_date = when a pair last changed); moving
-- back, rerunning a date or any other case c360_refresh_plan(in_place=true) names rebuilds it from all
-- facts (the pre-hook empties it first).
-- depends_on: {{ ref('s_contact_status') }}
-- depends_on: {{ ref('map_contact_status') }}
{%- set plan = cdm.c360_refresh_plan(in_place=true) %}
{{ config(
    unique_key=['grain', 'group_hk', 'customer_hk'],
    pre_hook="{{ cdm.c360_in_place_reset() }}",
    post_hook="{{ cdm.vault_index(this, ['grain', 'group_hk', 'customer_hk']) }}"
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

{%- if plan.fast %}

    touched as (
        select
            delta.grain,
            delta.group_hk,
            delta.customer_hk,
            coalesce(current_pairs.contacts, 0) + delta.contacts as contacts
        from delta
        left join {{ this }} as current_pairs
            on
                delta.grain = current_pairs.grain
                and delta.group_hk = current_pairs.group_hk
                and delta.customer_hk = current_pairs.customer_hk
    ),

{%- else %}

    touched as (
        select * from delta
        where contacts > 0
    ),

{%- endif %}

final as (
    select
        {{ plan.as_of }} as as_of_date,
        grain,
        group_hk,
        customer_hk,
        contacts,
        {{ cdm.c360_snapshot_columns(plan) }}
    from touched
)

select * from final
