-- Flowchart runs (executions) as of the as-of date: the current version of each run's execution
-- (a run first seen Running is later Succeeded or Failed), with its flowchart and campaign.
with hub as (
    select * from {{ ref('h_flowchart_run') }}
),

execution as (
    {{ cdm.current_version('s_flowchart_run_execution', 'flowchart_run_hk') }}
),

run_flowchart as (
    select * from {{ ref('l_flowchart_run_flowchart') }}
),

flowcharts as (
    select * from {{ ref('ifl_flowchart') }}
),

latest_flowchart as (
    select
        flowchart_run_hk,
        flowchart_hk,
        row_number() over (partition by flowchart_run_hk order by load_dts desc, flowchart_hk asc) as link_rank
    from run_flowchart
    where business_date <= {{ cdm.as_of_date() }}
),

final as (
    select
        hub.flowchart_run_hk,
        hub.run_id,
        flowcharts.flowchart_hk,
        flowcharts.flowchart_id,
        flowcharts.campaign_hk,
        flowcharts.campaign_id,
        execution.run_type,
        execution.run_status,
        execution.run_start_time,
        execution.run_end_time,
        execution.records_processed,
        case when execution.run_type = 'Production' then 1 else 0 end as is_production,
        case when execution.run_status = 'Failed' then 1 else 0 end as is_failed
    from hub
    left join execution on hub.flowchart_run_hk = execution.flowchart_run_hk
    left join latest_flowchart
        on
            hub.flowchart_run_hk = latest_flowchart.flowchart_run_hk
            and latest_flowchart.link_rank = 1
    left join flowcharts on latest_flowchart.flowchart_hk = flowcharts.flowchart_hk
    where
        hub.flowchart_run_hk <> {{ cdm.ghost_key() }}
        and hub.business_date <= {{ cdm.as_of_date() }}
)

select * from final
