-- cdm_publish.flowchart_360_v1: the consumer contract of Flowchart 360 (enforced: names and types).
{{ config(grants=cdm.publish_grants()) }}
-- The three published tables move together: each waits for all three 360 models, so a failure upstream
-- of any of them (an unmapped code, a failed 360 check) skips all three and consumers keep one as-of date.
-- depends_on: {{ ref('customer_360') }}
-- depends_on: {{ ref('campaign_360') }}

with flowchart_360 as (
    select * from {{ ref('flowchart_360') }}
),

final as (
    select
        cast(flowchart_id as bigint) as flowchart_id,
        cast(flowchart_name as varchar(200)) as flowchart_name,
        cast(flowchart_type as varchar(50)) as flowchart_type,
        cast(campaign_id as bigint) as campaign_id,
        cast(campaign_code as varchar(50)) as campaign_code,
        cast(as_of_date as date) as as_of_date,
        cast(execution_count as bigint) as execution_count,
        cast(last_run_at as timestamp) as last_run_at,
        cast(last_run_status as varchar(20)) as last_run_status,
        cast(failed_runs as bigint) as failed_runs,
        cast(avg_run_duration_seconds as double precision) as avg_run_duration_seconds,
        cast(contacts as bigint) as contacts,
        cast(unique_customers as bigint) as unique_customers,
        cast(responses as bigint) as responses,
        cast(response_rate as double precision) as response_rate,
        cast(revenue as numeric(18, 2)) as revenue
    from flowchart_360
)

select * from final
