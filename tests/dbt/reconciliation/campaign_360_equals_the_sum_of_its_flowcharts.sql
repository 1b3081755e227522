-- Reconciliation: every campaign's contacts, responses and revenue in campaign_360 equal the sum of its
-- flowcharts in flowchart_360. Returns the campaigns that differ.
{{ config(meta={'reason_code': 'ROW_COUNT_MISMATCH'}, tags=['reconciliation']) }}

with campaign_360 as (
    select * from {{ ref('campaign_360') }}
),

flowchart_360 as (
    select * from {{ ref('flowchart_360') }}
),

flowchart_totals as (
    select
        campaign_hk,
        sum(contacts) as contacts,
        sum(responses) as responses,
        sum(revenue) as revenue
    from flowchart_360
    group by campaign_hk
),

compared as (
    select
        campaign_360.campaign_id,
        campaign_360.contacts as campaign_contacts,
        coalesce(flowchart_totals.contacts, 0) as flowchart_contacts,
        campaign_360.responses as campaign_responses,
        coalesce(flowchart_totals.responses, 0) as flowchart_responses,
        campaign_360.revenue as campaign_revenue,
        coalesce(flowchart_totals.revenue, 0) as flowchart_revenue
    from campaign_360
    left join flowchart_totals on campaign_360.campaign_hk = flowchart_totals.campaign_hk
)

select *
from compared
where
    campaign_contacts <> flowchart_contacts
    or campaign_responses <> flowchart_responses
    or campaign_revenue <> flowchart_revenue
