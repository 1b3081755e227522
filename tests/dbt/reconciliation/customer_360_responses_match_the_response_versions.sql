-- Reconciliation: the responses and revenue customer_360 shows equal those of rdv.l_response up to the as-of
-- date, each response with its current version in rdv.s_response_details (its latest delivery; the link's
-- first delivery when the satellite has none), computed here straight from the vault and the mapping seed,
-- not through the interface layer. Returns a row when they differ.
{{ config(meta={'reason_code': 'ROW_COUNT_MISMATCH'}, tags=['reconciliation']) }}

with link_rows as (
    select * from {{ ref('l_response') }}
),

details as (
    {{ cdm.current_version('s_response_details', 'response_hk') }}
),

type_map as (
    select * from {{ ref('map_response_type') }}
),

customer_360 as (
    select * from {{ ref('customer_360') }}
),

current_responses as (
    select
        case when details.response_hk is null then link_rows.response_date_time else details.response_date_time end
            as response_date_time,
        case when details.response_hk is null then link_rows.response_type_id else details.response_type_id end
            as response_type_id,
        case when details.response_hk is null then link_rows.revenue else details.revenue end as revenue
    from link_rows
    left join details on link_rows.response_hk = details.response_hk
),

from_vault as (
    select
        coalesce(sum(type_map.counts_as_response), 0) as responses,
        coalesce(sum(coalesce(current_responses.revenue, 0)), 0) as revenue
    from current_responses
    left join type_map on current_responses.response_type_id = type_map.response_type_id
    where cast(current_responses.response_date_time as date) <= {{ cdm.as_of_date() }}
),

from_360 as (
    select
        coalesce(sum(responses_total), 0) as responses,
        coalesce(sum(revenue_total), 0) as revenue
    from customer_360
)

select
    from_vault.responses as vault_responses,
    from_360.responses as customer_360_responses,
    from_vault.revenue as vault_revenue,
    from_360.revenue as customer_360_revenue
from from_vault
cross join from_360
where from_vault.responses <> from_360.responses or from_vault.revenue <> from_360.revenue
