-- Cells as of the as-of date: control flag, flowchart and campaign, and the offer (and so the channel)
-- of the cell's latest treatment.
with hub as (
    select * from {{ ref('h_cell') }}
),

details as (
    {{ cdm.current_version('s_cell_details', 'cell_hk') }}
),

cell_flowchart as (
    select * from {{ ref('l_cell_flowchart') }}
),

treatment_cell as (
    select * from {{ ref('l_treatment_cell') }}
),

flowcharts as (
    select * from {{ ref('ifl_flowchart') }}
),

offers as (
    select * from {{ ref('ifl_offer') }}
),

latest_flowchart as (
    select
        cell_hk,
        flowchart_hk,
        row_number() over (partition by cell_hk order by load_dts desc, flowchart_hk asc) as link_rank
    from cell_flowchart
    where business_date <= {{ cdm.as_of_date() }}
),

latest_offer as (
    select
        cell_hk,
        offer_hk,
        row_number() over (partition by cell_hk order by load_dts desc, treatment_hk asc) as link_rank
    from treatment_cell
    where
        business_date <= {{ cdm.as_of_date() }}
        and offer_hk <> {{ cdm.ghost_key() }}
),

final as (
    select
        hub.cell_hk,
        hub.cell_id,
        details.cell_code,
        details.cell_name,
        coalesce(details.is_control, 0) as is_control,
        details.control_cell_id,
        flowcharts.flowchart_hk,
        flowcharts.flowchart_id,
        flowcharts.campaign_hk,
        flowcharts.campaign_id,
        offers.offer_hk,
        offers.offer_id,
        offers.channel,
        offers.channel_group
    from hub
    left join details on hub.cell_hk = details.cell_hk
    left join latest_flowchart
        on
            hub.cell_hk = latest_flowchart.cell_hk
            and latest_flowchart.link_rank = 1
    left join flowcharts on latest_flowchart.flowchart_hk = flowcharts.flowchart_hk
    left join latest_offer
        on
            hub.cell_hk = latest_offer.cell_hk
            and latest_offer.link_rank = 1
    left join offers on latest_offer.offer_hk = offers.offer_hk
    where
        hub.cell_hk <> {{ cdm.ghost_key() }}
        and hub.business_date <= {{ cdm.as_of_date() }}
)

select * from final
