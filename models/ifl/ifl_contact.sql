-- Contacts: one row per contact (customer x cell x package), its latest known status mapped through
-- seeds/map_contact_status.csv (counts_as_contact), and the cell's flowchart, campaign, control flag
-- and channel. Incremental: a run rewrites only the contacts its load window touched (a new link row or
-- a new status version; the pre-hooks delete their previous rows, by business date and by the restated
-- keys, then the run appends them), so a day's refresh reads the day's link rows, not the link history
-- (the status versions of the touched contacts are still looked up in the whole satellite). The status is
-- the latest version loaded (whatever order dates were loaded in); the cell attribution is the one
-- known when the contact was last touched. After changing a mapping seed: `--full-refresh`.
-- last_change_date: the latest business date that delivered the contact or a status version of it (what
-- the 360 state models read a day's changes by); _loaded_at: when this run wrote the row.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ cdm.ifl_contact_delete_touched('delivered') }}",
        "{{ cdm.ifl_contact_delete_touched('restated') }}"
    ],
    post_hook=[
        "{{ cdm.vault_index(this, 'contact_hk') }}",
        "{{ cdm.vault_index(this, 'contact_date') }}",
        "{{ cdm.vault_index(this, 'business_date') }}",
        "{{ cdm.vault_index(this, 'last_change_date') }}",
        "{{ cdm.vault_index(this, '_loaded_at') }}"
    ]
) }}

with contacts as (
    select * from {{ ref('l_contact') }}
),

status_versions as (
    select * from {{ ref('s_contact_status') }}
),

status_map as (
    select * from {{ ref('map_contact_status') }}
),

cells as (
    select * from {{ ref('ifl_cell') }}
),

-- the contacts the window delivered, and the earlier ones it restated (a new status version for a
-- contact delivered on another date: usually none, and then the link history is not read at all)
delivered as (
    select * from contacts
    {%- if is_incremental() %}
        where {{ cdm.batch_filter('business_date') }}
    {%- endif %}
),

{%- if is_incremental() %}

    restated as (
        select contact_hk from status_versions
        where {{ cdm.batch_filter('business_date') }}
        except
        select contact_hk from delivered
    ),

    touched_contacts as (
        select * from delivered
        union all
        select * from contacts
        where contacts.contact_hk in (select restated.contact_hk from restated)
    ),

{%- else %}

    touched_contacts as (
        select * from delivered
    ),

{%- endif %}

touched as (
    select contact_hk from touched_contacts
),

status as (
    select
        status_versions.contact_hk,
        status_versions.contact_status_id,
        max(status_versions.business_date) over (partition by status_versions.contact_hk) as last_status_date,
        row_number() over (
            partition by status_versions.contact_hk
            order by status_versions.effective_from desc, status_versions.load_dts desc
        ) as version_rank
    from status_versions
    inner join touched on status_versions.contact_hk = touched.contact_hk
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
    from touched_contacts as contacts
    left join status
        on
            contacts.contact_hk = status.contact_hk
            and status.version_rank = 1
    left join status_map on status.contact_status_id = status_map.contact_status_id
    left join cells on contacts.cell_hk = cells.cell_hk
)

select * from final
