-- Contact and response totals per flowchart x campaign the contacts and responses are attributed to, up
-- to the as-of date D: what campaign_360 and flowchart_360 add up (so a campaign's totals are the sum
-- of its flowcharts'). One snapshot per as-of date, refreshed like customer_360_state: the previous
-- snapshot plus the day's changes; the first/last contact date of a flowchart that lost a counted
-- contact to a restated status are recomputed from its contacts.
-- depends_on: {{ ref('s_contact_status') }}
-- depends_on: {{ ref('map_contact_status') }}
-- depends_on: {{ ref('s_response_details') }}
-- depends_on: {{ ref('l_response') }}
-- depends_on: {{ ref('map_response_type') }}
{%- set plan = cdm.c360_refresh_plan() %}
{{ config(
    post_hook=["{{ cdm.c360_snapshot_retention() }}"]
) }}

with contact_changes as (
    {{ cdm.c360_contact_changes(plan) }}
),

response_changes as (
    {{ cdm.c360_response_changes(plan) }}
),

{%- if plan.fast %}

    previous as (
        select * from {{ this }}
        where as_of_date = {{ plan.prev }}
    ),

{%- endif %}

contact_delta as (
    select
        flowchart_hk,
        campaign_hk,
        {{ cdm.c360_window_sum('counted', 'contact_date') }} as contacts,
        {{ cdm.c360_window_sum('counted * coalesce(is_control, 0)', 'contact_date') }} as control_contacts,
        max(case when is_restated = 1 and counted = 1 and contact_date <= ref_date then 1 else 0 end) as lost_contact
    from contact_changes
    group by flowchart_hk, campaign_hk
),

response_delta as (
    select
        flowchart_hk,
        campaign_hk,
        {{ cdm.c360_window_sum('counts_as_response', 'response_date') }} as responses,
        {{ cdm.c360_window_sum('counts_as_response * coalesce(is_control, 0)', 'response_date') }}
            as control_responses,
        {{ cdm.c360_window_sum('revenue', 'response_date') }} as revenue
    from response_changes
    group by flowchart_hk, campaign_hk
),

lost_groups as (
    select
        flowchart_hk,
        campaign_hk
    from contact_delta
    where lost_contact = 1
),

-- first/last counted contact date up to D: the previous bounds widened by the contacts added, or, for a
-- flowchart x campaign that lost a counted contact, all of its counted contacts again
contact_dates as (
    select
        flowchart_hk,
        campaign_hk,
        contact_date
    from contact_changes
    where sign = 1 and counted = 1 and contact_date <= ref_date
    {%- if plan.fast %}
        {%- for bound in ['first_contact_date', 'last_contact_date'] %}
            union all
            select
                previous.flowchart_hk,
                previous.campaign_hk,
                previous.{{ bound }} as contact_date
            from previous
            where
                previous.{{ bound }} is not null
                and not exists (
                    select 1 from lost_groups
                    where
                        lost_groups.flowchart_hk is not distinct from previous.flowchart_hk
                        and lost_groups.campaign_hk is not distinct from previous.campaign_hk
                )
        {%- endfor %}
        union all
        select
            contacts.flowchart_hk,
            contacts.campaign_hk,
            contacts.contact_date
        from {{ ref('ifl_contact') }} as contacts
        where
            contacts.counts_as_contact = 1
            and contacts.contact_date <= {{ plan.as_of }}
            and exists (
                select 1 from lost_groups
                where
                    lost_groups.flowchart_hk is not distinct from contacts.flowchart_hk
                    and lost_groups.campaign_hk is not distinct from contacts.campaign_hk
            )
    {%- endif %}
),

contact_bounds as (
    select
        flowchart_hk,
        campaign_hk,
        min(contact_date) as first_contact_date,
        max(contact_date) as last_contact_date
    from contact_dates
    group by flowchart_hk, campaign_hk
),

combined as (
    {%- if plan.fast %}
        select
            flowchart_hk,
            campaign_hk,
            contacts,
            control_contacts,
            responses,
            control_responses,
            revenue
        from previous
        union all
    {%- endif %}
    select
        flowchart_hk,
        campaign_hk,
        contacts,
        control_contacts,
        0 as responses,
        0 as control_responses,
        0 as revenue
    from contact_delta
    union all
    select
        flowchart_hk,
        campaign_hk,
        0 as contacts,
        0 as control_contacts,
        responses,
        control_responses,
        revenue
    from response_delta
),

totals as (
    select
        flowchart_hk,
        campaign_hk,
        sum(contacts) as contacts,
        sum(control_contacts) as control_contacts,
        sum(responses) as responses,
        sum(control_responses) as control_responses,
        sum(revenue) as revenue
    from combined
    group by flowchart_hk, campaign_hk
),

final as (
    select
        {{ plan.as_of }} as as_of_date,
        totals.flowchart_hk,
        totals.campaign_hk,
        totals.contacts,
        totals.control_contacts,
        totals.responses,
        totals.control_responses,
        cast(totals.revenue as numeric(18, 2)) as revenue,
        contact_bounds.first_contact_date,
        contact_bounds.last_contact_date,
        {{ cdm.c360_snapshot_columns(plan) }}
    from totals
    left join contact_bounds
        on
            totals.flowchart_hk is not distinct from contact_bounds.flowchart_hk
            and totals.campaign_hk is not distinct from contact_bounds.campaign_hk
)

select * from final
