-- Campaign 360: one row per campaign as of the as-of date. Contacts and responses are attributed along
-- cell -> flowchart -> campaign (the same path as flowchart_360, so a campaign's totals are the sum of
-- its flowcharts'). Control vs target: contacts and responses in control cells vs all other cells;
-- absolute uplift = target rate - control rate; relative uplift = absolute / control rate, NULL when the
-- control rate is 0 (undefined, not zero). The activity totals come from campaign_activity_state and
-- campaign_customer_state (refreshed from the previous day's snapshot plus the day's changes).
with campaigns as (
    select * from {{ ref('ifl_campaign') }}
),

flowcharts as (
    select * from {{ ref('ifl_flowchart') }}
),

cells as (
    select * from {{ ref('ifl_cell') }}
),

runs as (
    select * from {{ ref('ifl_flowchart_run') }}
),

activity as (
    select * from {{ ref('campaign_activity_state') }}
    where as_of_date = {{ cdm.as_of_date() }}
),

customers_reached as (
    select * from {{ ref('campaign_customer_state') }}
    where grain = 'campaign' and contacts > 0
),

as_of as (
    select {{ cdm.as_of_date() }} as as_of_date
),

structure as (
    select
        campaigns.campaign_hk,
        count(distinct flowcharts.flowchart_hk) as flowcharts,
        count(distinct cells.cell_hk) as cells,
        count(distinct cells.offer_hk) as offers
    from campaigns
    left join flowcharts on campaigns.campaign_hk = flowcharts.campaign_hk
    left join cells on flowcharts.flowchart_hk = cells.flowchart_hk
    group by campaigns.campaign_hk
),

executions as (
    select
        campaign_hk,
        count(*) as production_executions
    from runs
    where is_production = 1
    group by campaign_hk
),

contact_kpis as (
    select
        campaign_hk,
        sum(contacts) as contacts,
        sum(control_contacts) as control_contacts,
        min(first_contact_date) as first_contact_date,
        max(last_contact_date) as last_contact_date
    from activity
    group by campaign_hk
),

reach as (
    select
        group_hk as campaign_hk,
        count(*) as unique_customers_contacted
    from customers_reached
    group by group_hk
),

response_kpis as (
    select
        campaign_hk,
        sum(responses) as responses,
        sum(control_responses) as control_responses,
        sum(revenue) as revenue
    from activity
    group by campaign_hk
),

rates as (
    select
        campaigns.campaign_hk,
        coalesce(contact_kpis.contacts, 0) as contacts,
        coalesce(contact_kpis.control_contacts, 0) as control_contacts,
        coalesce(contact_kpis.contacts, 0) - coalesce(contact_kpis.control_contacts, 0) as target_contacts,
        coalesce(response_kpis.responses, 0) as responses,
        coalesce(response_kpis.control_responses, 0) as control_responses,
        coalesce(response_kpis.responses, 0) - coalesce(response_kpis.control_responses, 0) as target_responses
    from campaigns
    left join contact_kpis on campaigns.campaign_hk = contact_kpis.campaign_hk
    left join response_kpis on campaigns.campaign_hk = response_kpis.campaign_hk
),

uplift as (
    select
        campaign_hk,
        {{ cdm.safe_ratio('control_responses', 'control_contacts') }} as control_response_rate,
        {{ cdm.safe_ratio('target_responses', 'target_contacts') }} as target_response_rate
    from rates
),

final as (
    select
        campaigns.campaign_hk,
        campaigns.campaign_id,
        campaigns.campaign_code,
        campaigns.campaign_name,
        campaigns.campaign_status,
        campaigns.start_date,
        campaigns.end_date,
        as_of.as_of_date,
        structure.flowcharts,
        structure.cells,
        structure.offers,
        coalesce(executions.production_executions, 0) as production_executions,
        rates.contacts,
        coalesce(reach.unique_customers_contacted, 0) as unique_customers_contacted,
        rates.responses,
        {{ cdm.safe_ratio('rates.responses', 'rates.contacts') }} as response_rate,
        cast(coalesce(response_kpis.revenue, 0) as numeric(18, 2)) as revenue,
        rates.control_contacts,
        rates.control_responses,
        uplift.control_response_rate,
        rates.target_contacts,
        rates.target_responses,
        uplift.target_response_rate,
        uplift.target_response_rate - uplift.control_response_rate as uplift_abs,
        case
            when uplift.control_response_rate = 0 then null
            else (uplift.target_response_rate - uplift.control_response_rate) / uplift.control_response_rate
        end as uplift_rel,
        contact_kpis.first_contact_date,
        contact_kpis.last_contact_date
    from campaigns
    cross join as_of
    inner join structure on campaigns.campaign_hk = structure.campaign_hk
    inner join rates on campaigns.campaign_hk = rates.campaign_hk
    inner join uplift on campaigns.campaign_hk = uplift.campaign_hk
    left join executions on campaigns.campaign_hk = executions.campaign_hk
    left join contact_kpis on campaigns.campaign_hk = contact_kpis.campaign_hk
    left join reach on campaigns.campaign_hk = reach.campaign_hk
    left join response_kpis on campaigns.campaign_hk = response_kpis.campaign_hk
)

select * from final
