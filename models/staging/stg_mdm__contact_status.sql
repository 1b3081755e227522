with source as (
    select * from {{ source('ldz', 'ldz_ua_contactstatus') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        contactstatusid as contact_status_id,
        name as contact_status_name,
        countsascontact as counts_as_contact,
        {{ cdm.stg_metadata('ua_contactstatus') }}
    from source
),

final as (
    select
        {{ cdm.hash_diff(['contact_status_name', 'counts_as_contact']) }} as hashdiff,
        *
    from renamed
)

select * from final
