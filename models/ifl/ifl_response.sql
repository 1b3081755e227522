-- Responses: one row per response (customer x treatment x response pack) as of the as-of date, with its
-- current attributes, the response type mapped through seeds/map_response_type.csv (category,
-- counts_as_response), attributed along treatment -> cell -> flowchart -> campaign, the same path contacts
-- take, so campaign and flowchart totals reconcile. A response's attributes are its latest version in
-- s_response_details (a response delivered again with corrected values: the later business date wins, then
-- the later landing, load_id), the link's first delivery being the oldest version. Incremental like
-- ifl_contact: a run rewrites the responses its load window delivered and those it delivered again (usually
-- none), ranking the window's versions against the version this table already holds, so a day never reads
-- the link or version history. A first build or `--full-refresh` ranks every version. After changing a
-- mapping seed: `--full-refresh`.
-- last_change_date: the latest business date that delivered the response or a version of it (what the 360
-- state models read a day's changes by); details_effective_from / details_load_dts: the version shown.
{{ config(
    materialized='incremental',
    incremental_strategy='window_replace',
    unique_key='response_hk',
    on_schema_change='fail',
    post_hook=[
        "{{ cdm.vault_index(this, 'response_hk') }}",
        "{{ cdm.vault_index(this, 'business_date') }}",
        "{{ cdm.vault_index(this, 'last_change_date') }}",
        "{{ cdm.vault_index(this, 'response_date') }}",
        "{{ cdm.vault_index(this, '_loaded_at') }}"
    ]
) }}

{%- set attributes = ['response_date_time', 'response_type_id', 'within_date_range_flg', 'orig_contacted_flg',
                      'direct_response', 'revenue'] %}

with {{ cdm.ifl_touched_events('l_response', 's_response_details', 'response_hk') }}

type_map as (
    select * from {{ ref('map_response_type') }}
),

treatment_cell as (
    select * from {{ ref('l_treatment_cell') }}
),

cells as (
    select * from {{ ref('ifl_cell') }}
),

-- the versions to rank: the link's first delivery, the window's versions and, incrementally, the version each
-- touched response already shows here
candidate_versions as (
    select
        response_hk,
        {{ attributes | join(', ') }},
        load_dts as effective_from,
        load_dts,
        load_id,
        business_date as change_date,
        0 as precedence
    from touched
    union all
    select
        response_hk,
        {{ attributes | join(', ') }},
        effective_from,
        load_dts,
        load_id,
        business_date as change_date,
        1 as precedence
    from window_versions
    {%- if is_incremental() %}
        union all
        select
            response_hk,
            {{ attributes | join(', ') }},
            details_effective_from as effective_from,
            details_load_dts as load_dts,
            '' as load_id,
            last_change_date as change_date,
            0 as precedence
        from previous
    {%- endif %}
),

current_details as (
    select
        *,
        max(change_date) over (partition by response_hk) as last_version_date,
        row_number() over (
            partition by response_hk
            order by effective_from desc, load_dts desc, load_id desc, precedence desc
        ) as version_rank
    from candidate_versions
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
        current_details.response_date_time,
        cast(current_details.response_date_time as date) as response_date,
        current_details.response_type_id,
        type_map.response_type_code,
        type_map.response_type_name,
        type_map.response_category,
        type_map.counts_as_response,
        current_details.within_date_range_flg,
        current_details.orig_contacted_flg,
        current_details.direct_response,
        coalesce(current_details.revenue, 0) as revenue,
        current_details.effective_from as details_effective_from,
        current_details.load_dts as details_load_dts,
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
        case
            when current_details.last_version_date > responses.business_date then current_details.last_version_date
            else responses.business_date
        end as last_change_date,
        {{ cdm.run_timestamp() }} as _loaded_at
    from touched as responses
    inner join current_details
        on
            responses.response_hk = current_details.response_hk
            and current_details.version_rank = 1
    left join type_map on current_details.response_type_id = type_map.response_type_id
    left join latest_treatment
        on
            responses.treatment_hk = latest_treatment.treatment_hk
            and latest_treatment.link_rank = 1
    left join cells on latest_treatment.cell_hk = cells.cell_hk
)

select * from final
