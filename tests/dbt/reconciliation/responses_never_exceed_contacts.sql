-- Reconciliation: responses flagged as originally contacted never outnumber the contacts they answer,
-- per campaign (in campaign_360's attribution) and per customer. Returns the offenders.
{{ config(meta={'reason_code': 'ANOMALY'}, tags=['reconciliation']) }}

with responses as (
    select * from {{ ref('ifl_response') }}
),

campaign_360 as (
    select * from {{ ref('campaign_360') }}
),

customer_360 as (
    select * from {{ ref('customer_360') }}
),

contacted_responses as (
    select
        campaign_hk,
        customer_hk,
        count(*) as responses
    from responses
    where
        orig_contacted_flg = 1
        and counts_as_response = 1
        and response_date <= {{ cdm.as_of_date() }}
    group by campaign_hk, customer_hk
),

per_campaign as (
    select
        'campaign' as grain,
        cast(campaign_360.campaign_id as varchar) as entity_id,
        sum(contacted_responses.responses) as responses,
        max(campaign_360.contacts) as contacts
    from contacted_responses
    inner join campaign_360 on contacted_responses.campaign_hk = campaign_360.campaign_hk
    group by campaign_360.campaign_id
),

per_customer as (
    select
        'customer' as grain,
        customer_360.customer_id as entity_id,
        sum(contacted_responses.responses) as responses,
        max(customer_360.contacts_total) as contacts
    from contacted_responses
    inner join customer_360 on contacted_responses.customer_hk = customer_360.customer_hk
    group by customer_360.customer_id
),

checked as (
    select * from per_campaign
    union all
    select * from per_customer
)

select *
from checked
where responses > contacts
