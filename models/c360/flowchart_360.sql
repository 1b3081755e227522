-- Flowchart 360: one row per flowchart with at least one production execution as of the as-of date.
-- Executions are production runs; failed_runs counts failed production runs; last_run_* is the latest
-- production run by start time; avg_run_duration_seconds averages finished production runs. Every
-- pre-aggregated metric is populated: 0 when there was no activity, never NULL.
with flowcharts as (
    select * from {{ ref('ifl_flowchart') }}
),

runs as (
    select * from {{ ref('ifl_flowchart_run') }}
),

contacts as (
    select * from {{ ref('ifl_contact') }}
),

responses as (
    select * from {{ ref('ifl_response') }}
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

contact_kpis as (
    select
        contacts.flowchart_hk,
        count(*) as contacts,
        count(distinct contacts.customer_hk) as unique_customers
    from contacts
    cross join as_of
    where
        contacts.counts_as_contact = 1
        and contacts.contact_date <= as_of.as_of_date
    group by contacts.flowchart_hk
),

response_kpis as (
    select
        responses.flowchart_hk,
        sum(responses.counts_as_response) as responses,
        sum(responses.revenue) as revenue
    from responses
    cross join as_of
    where responses.response_date <= as_of.as_of_date
    group by responses.flowchart_hk
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
        coalesce(contact_kpis.contacts, 0) as contacts,
        coalesce(contact_kpis.unique_customers, 0) as unique_customers,
        coalesce(response_kpis.responses, 0) as responses,
        {{ cdm.safe_ratio('response_kpis.responses', 'contact_kpis.contacts') }} as response_rate,
        coalesce(response_kpis.revenue, 0) as revenue
    from flowcharts
    cross join as_of
    inner join run_kpis on flowcharts.flowchart_hk = run_kpis.flowchart_hk
    left join last_run on flowcharts.flowchart_hk = last_run.flowchart_hk
    left join contact_kpis on flowcharts.flowchart_hk = contact_kpis.flowchart_hk
    left join response_kpis on flowcharts.flowchart_hk = response_kpis.flowchart_hk
)

select * from final
