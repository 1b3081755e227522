-- Responses as of the as-of date, with the response type mapped through seeds/map_response_type.csv
-- (category, counts_as_response) and attributed along treatment -> cell -> flowchart -> campaign, the
-- same path contacts take, so campaign and flowchart totals reconcile. Incremental: a run adds only the
-- responses its load window delivered (a response is an immutable event). After changing a mapping
-- seed: `--full-refresh`.
{{ config(
    materialized='incremental',
    unique_key='response_hk',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook=[
        "{{ cdm.vault_index(this, 'response_hk') }}",
        "{{ cdm.vault_index(this, 'business_date') }}",
        "{{ cdm.vault_index(this, 'response_date') }}",
        "{{ cdm.vault_index(this, '_loaded_at') }}"
    ]
) }}

with responses as (
    select * from {{ ref('l_response') }}
    {%- if is_incremental() %}
        where {{ cdm.batch_filter('business_date') }}
    {%- endif %}
),

type_map as (
    select * from {{ ref('map_response_type') }}
),

treatment_cell as (
    select * from {{ ref('l_treatment_cell') }}
),

cells as (
    select * from {{ ref('ifl_cell') }}
),

latest_treatment as (
    select
        treatment_hk,
        cell_hk,
        offer_hk,
        flowchart_run_hk,
        row_number() over (partition by treatment_hk order by load_dts desc, cell_hk asc) as link_rank
    from treatment_cell
),

final as (
    select
        responses.response_hk,
        responses.customer_hk,
        responses.customer_id,
        responses.treatment_hk,
        responses.treatment_inst_id,
        responses.response_pack_id,
        responses.response_date_time,
        cast(responses.response_date_time as date) as response_date,
        responses.response_type_id,
        type_map.response_type_code,
        type_map.response_type_name,
        type_map.response_category,
        type_map.counts_as_response,
        responses.within_date_range_flg,
        responses.orig_contacted_flg,
        responses.direct_response,
        coalesce(responses.revenue, 0) as revenue,
        latest_treatment.cell_hk,
        latest_treatment.flowchart_run_hk,
        cells.cell_id,
        cells.flowchart_hk,
        cells.flowchart_id,
        cells.campaign_hk,
        cells.campaign_id,
        cells.is_control,
        cells.channel,
        responses.business_date,
        {{ cdm.run_timestamp() }} as _loaded_at
    from responses
    left join type_map on responses.response_type_id = type_map.response_type_id
    left join latest_treatment
        on
            responses.treatment_hk = latest_treatment.treatment_hk
            and latest_treatment.link_rank = 1
    left join cells on latest_treatment.cell_hk = cells.cell_hk
)

select * from final
