-- Flowchart 360: one row per flowchart with at least one production execution as of the as-of date.
-- Executions are production runs; failed_runs counts failed production runs; last_run_* is the latest
-- production run by start time; avg_run_duration_seconds averages finished production runs. Every
-- pre-aggregated metric is populated: 0 when there was no activity, never NULL. Contacts, responses and
-- revenue come from campaign_activity_state and campaign_customer_state (refreshed from the previous
-- day's snapshot plus the day's changes).
with flowcharts as (
    select * from {{ ref('ifl_flowchart') }}
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
    where grain = 'flowchart' and contacts > 0
),

as_of as (
    select {{ cdm.as_of_date() }} as as_of_date
),

production_runs as (
    select
        runs.*,
        row_number() over (
            partition by runs.flowchart_hk order by runs.run_start_time desc, runs.run_id desc
        ) as recency_rank
    from runs
    where
        runs.is_production = 1
        and runs.flowchart_hk is not null
),

run_kpis as (
    select
        flowchart_hk,
        count(*) as execution_count,
        sum(is_failed) as failed_runs,
        max(run_start_time) as last_run_at,
        avg(
            case
                when run_end_time is not null
                    then {{ cdm.seconds_between('run_start_time', 'run_end_time') }}
            end
        ) as avg_run_duration_seconds,
        sum(coalesce(records_processed, 0)) as records_processed
    from production_runs
    group by flowchart_hk
),

last_run as (
    select
        flowchart_hk,
        run_status
    from production_runs
    where recency_rank = 1
),

activity_kpis as (
    select
        flowchart_hk,
        sum(contacts) as contacts,
        sum(responses) as responses,
        sum(revenue) as revenue
    from activity
    group by flowchart_hk
),

reach as (
    select
        group_hk as flowchart_hk,
        count(*) as unique_customers
    from customers_reached
    group by group_hk
),

final as (
    select
        flowcharts.flowchart_hk,
        flowcharts.flowchart_id,
        flowcharts.flowchart_name,
        flowcharts.flowchart_type,
        flowcharts.campaign_hk,
        flowcharts.campaign_id,
        flowcharts.campaign_code,
        as_of.as_of_date,
        run_kpis.execution_count,
        run_kpis.last_run_at,
        last_run.run_status as last_run_status,
        run_kpis.failed_runs,
        coalesce(run_kpis.avg_run_duration_seconds, 0) as avg_run_duration_seconds,
        run_kpis.records_processed,
        coalesce(activity_kpis.contacts, 0) as contacts,
        coalesce(reach.unique_customers, 0) as unique_customers,
        coalesce(activity_kpis.responses, 0) as responses,
        {{ cdm.safe_ratio('activity_kpis.responses', 'activity_kpis.contacts') }} as response_rate,
        cast(coalesce(activity_kpis.revenue, 0) as numeric(18, 2)) as revenue
    from flowcharts
    cross join as_of
    inner join run_kpis on flowcharts.flowchart_hk = run_kpis.flowchart_hk
    left join last_run on flowcharts.flowchart_hk = last_run.flowchart_hk
    left join activity_kpis on flowcharts.flowchart_hk = activity_kpis.flowchart_hk
    left join reach on flowcharts.flowchart_hk = reach.flowchart_hk
)

select * from final
