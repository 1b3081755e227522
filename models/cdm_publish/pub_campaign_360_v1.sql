-- cdm_publish.campaign_360_v1: the consumer contract of Campaign 360 (enforced: names and types).
{{ config(grants=cdm.publish_grants()) }}
-- The three published tables move together: each waits for all three 360 models, so a failure upstream
-- of any of them (an unmapped code, a failed 360 check) skips all three and consumers keep one as-of date.
-- depends_on: {{ ref('customer_360') }}
-- depends_on: {{ ref('flowchart_360') }}

with campaign_360 as (
    select * from {{ ref('campaign_360') }}
),

final as (
    select
        cast(campaign_id as bigint) as campaign_id,
        cast(campaign_code as varchar(50)) as campaign_code,
        cast(campaign_name as varchar(200)) as campaign_name,
        cast(campaign_status as varchar(50)) as campaign_status,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(as_of_date as date) as as_of_date,
        cast(flowcharts as bigint) as flowcharts,
        cast(cells as bigint) as cells,
        cast(offers as bigint) as offers,
        cast(production_executions as bigint) as production_executions,
        cast(contacts as bigint) as contacts,
        cast(unique_customers_contacted as bigint) as unique_customers_contacted,
        cast(responses as bigint) as responses,
        cast(response_rate as double precision) as response_rate,
        cast(revenue as numeric(18, 2)) as revenue,
        cast(control_contacts as bigint) as control_contacts,
        cast(control_responses as bigint) as control_responses,
        cast(control_response_rate as double precision) as control_response_rate,
        cast(target_contacts as bigint) as target_contacts,
        cast(target_responses as bigint) as target_responses,
        cast(target_response_rate as double precision) as target_response_rate,
        cast(uplift_abs as double precision) as uplift_abs,
        cast(uplift_rel as double precision) as uplift_rel,
        cast(first_contact_date as date) as first_contact_date,
        cast(last_contact_date as date) as last_contact_date
    from campaign_360
)

select * from final
