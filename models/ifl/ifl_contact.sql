-- Contacts as of the as-of date: one row per contact (customer x cell x package) with its current
-- status mapped through seeds/map_contact_status.csv (counts_as_contact), and the cell's flowchart,
-- campaign, control flag and channel.
with contacts as (
    select * from {{ ref('l_contact') }}
),

status as (
    {{ cdm.current_version('s_contact_status', 'contact_hk') }}
),

status_map as (
    select * from {{ ref('map_contact_status') }}
),

cells as (
    select * from {{ ref('ifl_cell') }}
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
        contacts.business_date
    from contacts
    left join status on contacts.contact_hk = status.contact_hk
    left join status_map on status.contact_status_id = status_map.contact_status_id
    left join cells on contacts.cell_hk = cells.cell_hk
    where contacts.business_date <= {{ cdm.as_of_date() }}
)

select * from final
