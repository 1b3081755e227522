-- Contacts: one row per contact (customer x cell x package), its latest known status mapped through
-- seeds/map_contact_status.csv (counts_as_contact), and the cell's flowchart, campaign, control flag
-- and channel. Incremental: a run rewrites only the contacts its load window touched — a new link row,
-- or a status version for a contact delivered on another date (restated; usually none) — through the
-- `window_replace` strategy (macros/ifl/window_replace.sql). A touched contact's status is the latest of
-- (a) the status this table already holds for it and (b) the status versions the window loaded, by the
-- source's change time (effective_from), then load time, then landing (load_id: a date landed again with a
-- corrected status has the later load id; on a full tie, the satellite's row over the copy),
-- so a day reads the day's link rows and status versions, never the link or status history. That is
-- exact because every date's versions pass through this model when the interface layer runs for that
-- date (`dq run` / `dq backfill` / `dq rerun` do). A first build or `--full-refresh` ranks every
-- version. The cell attribution is the one known when the contact was last touched. After changing a
-- mapping seed: `--full-refresh`.
-- last_change_date: the latest business date that delivered the contact or a status version of it (what
-- the 360 state models read a day's changes by); status_effective_from / status_load_dts: the change and
-- load time of the status version shown; _loaded_at: when this run wrote the row.
{{ config(
    materialized='incremental',
    incremental_strategy='window_replace',
    unique_key='contact_hk',
    on_schema_change='fail',
    post_hook=[
        "{{ cdm.vault_index(this, 'contact_hk') }}",
        "{{ cdm.vault_index(this, 'contact_date') }}",
        "{{ cdm.vault_index(this, 'business_date') }}",
        "{{ cdm.vault_index(this, 'last_change_date') }}",
        "{{ cdm.vault_index(this, '_loaded_at') }}"
    ]
) }}

with {{ cdm.ifl_touched_events('l_contact', 's_contact_status', 'contact_hk') }}

status_map as (
    select * from {{ ref('map_contact_status') }}
),

cells as (
    select * from {{ ref('ifl_cell') }}
),

-- the status versions to rank: the window's and, incrementally, the status each touched contact already
-- holds here
candidate_versions as (
    select
        contact_hk,
        contact_status_id,
        effective_from,
        load_dts,
        load_id,
        business_date as change_date,
        1 as from_satellite
    from window_versions
    {%- if is_incremental() %}
        union all
        select
            contact_hk,
            contact_status_id,
            status_effective_from as effective_from,
            status_load_dts as load_dts,
            '' as load_id,
            last_change_date as change_date,
            0 as from_satellite
        from previous
        where contact_status_id is not null
    {%- endif %}
),

status as (
    select
        contact_hk,
        contact_status_id,
        effective_from,
        load_dts,
        max(change_date) over (partition by contact_hk) as last_status_date,
        row_number() over (
            partition by contact_hk
            order by effective_from desc, load_dts desc, load_id desc, from_satellite desc
        ) as version_rank
    from candidate_versions
),

final as (
    select
        contacts.contact_hk,
        contacts.customer_hk,
        contacts.customer_id,
        contacts.cell_hk,
        contacts.cell_id,
        contacts.package_id,
        contacts.contact_date_time,
        cast(contacts.contact_date_time as date) as contact_date,
        status.contact_status_id,
        status.effective_from as status_effective_from,
        status.load_dts as status_load_dts,
        status_map.contact_status_name,
        status_map.counts_as_contact,
        cells.flowchart_hk,
        cells.flowchart_id,
        cells.campaign_hk,
        cells.campaign_id,
        cells.is_control,
        cells.channel,
        contacts.business_date,
        case
            when status.last_status_date > contacts.business_date then status.last_status_date
            else contacts.business_date
        end as last_change_date,
        {{ cdm.run_timestamp() }} as _loaded_at
    from touched as contacts
    left join status
        on
            contacts.contact_hk = status.contact_hk
            and status.version_rank = 1
    left join status_map on status.contact_status_id = status_map.contact_status_id
    left join cells on contacts.cell_hk = cells.cell_hk
)

select * from final
