-- Flowcharts as of the as-of date with their campaign (the latest flowchart -> campaign link).
with hub as (
    select * from {{ ref('h_flowchart') }}
),

details as (
    {{ cdm.current_version('s_flowchart_details', 'flowchart_hk') }}
),

flowchart_campaign as (
    select * from {{ ref('l_flowchart_campaign') }}
),

campaigns as (
    select * from {{ ref('ifl_campaign') }}
),

latest_campaign as (
    select
        flowchart_hk,
        campaign_hk,
        row_number() over (partition by flowchart_hk order by load_dts desc, campaign_hk asc) as link_rank
    from flowchart_campaign
    where business_date <= {{ cdm.as_of_date() }}
),

final as (
    select
        hub.flowchart_hk,
        hub.flowchart_id,
        details.flowchart_name,
        details.flowchart_type,
        details.flowchart_status,
        campaigns.campaign_hk,
        campaigns.campaign_id,
        campaigns.campaign_code
    from hub
    left join details on hub.flowchart_hk = details.flowchart_hk
    left join latest_campaign
        on
            hub.flowchart_hk = latest_campaign.flowchart_hk
            and latest_campaign.link_rank = 1
    left join campaigns on latest_campaign.campaign_hk = campaigns.campaign_hk
    where
        hub.flowchart_hk <> {{ cdm.ghost_key() }}
        and hub.business_date <= {{ cdm.as_of_date() }}
)

select * from final
