-- Reconciliation: the contacts customer_360 counts equal the rows of rdv.l_contact up to the as-of date
-- whose current status counts as a contact (computed here straight from the vault and the mapping
-- seed, not through the interface layer). Returns a row when they differ.
{{ config(meta={'reason_code': 'ROW_COUNT_MISMATCH'}, tags=['reconciliation']) }}

with link_rows as (
    select * from {{ ref('l_contact') }}
),

status as (
    {{ cdm.current_version('s_contact_status', 'contact_hk') }}
),

status_map as (
    select * from {{ ref('map_contact_status') }}
),

customer_360 as (
    select * from {{ ref('customer_360') }}
),

from_vault as (
    select count(*) as contacts
    from link_rows
    inner join status on link_rows.contact_hk = status.contact_hk
    inner join status_map on status.contact_status_id = status_map.contact_status_id
    where
        status_map.counts_as_contact = 1
        and cast(link_rows.contact_date_time as date) <= {{ cdm.as_of_date() }}
),

from_360 as (
    select coalesce(sum(contacts_total), 0) as contacts
    from customer_360
)

select
    from_vault.contacts as vault_contacts,
    from_360.contacts as customer_360_contacts
from from_vault
cross join from_360
where from_vault.contacts <> from_360.contacts
