-- Contacts: customer x cell x package. A flowchart branch rerun restates its contacts with a later
-- UpdateDateTime: the contact link keeps the first delivery, the status satellite every version.
with source as (
    select * from {{ source('ldz', 'ldz_ua_contacthistory') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        customerid as customer_id,
        cellid as cell_id,
        packageid as package_id,
        contactdatetime as contact_date_time,
        updatedatetime as update_date_time,
        contactstatusid as contact_status_id,
        updatedatetime as effective_from,
        {{ cdm.stg_metadata('ua_contacthistory') }}
    from source
),

final as (
    select
        {{ cdm.hash_key(['customer_id', 'cell_id', 'package_id']) }} as contact_hk,
        {{ cdm.hash_key('customer_id') }} as customer_hk,
        {{ cdm.hash_key('cell_id') }} as cell_hk,
        {{ cdm.hash_diff(['contact_status_id']) }} as status_hashdiff,
        *
    from renamed
)

select * from final
