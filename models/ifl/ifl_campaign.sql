-- Campaigns as of the as-of date: the hub's business key with the current version of its details.
with hub as (
    select * from {{ ref('h_campaign') }}
),

details as (
    {{ cdm.current_version('s_campaign_details', 'campaign_hk') }}
),

final as (
    select
        hub.campaign_hk,
        hub.campaign_id,
        details.campaign_code,
        details.campaign_name,
        details.objectives,
        details.start_date,
        details.end_date,
        details.campaign_status,
        details.campaign_owner
    from hub
    left join details on hub.campaign_hk = details.campaign_hk
    where
        hub.campaign_hk <> {{ cdm.ghost_key() }}
        and hub.business_date <= {{ cdm.as_of_date() }}
)

select * from final
