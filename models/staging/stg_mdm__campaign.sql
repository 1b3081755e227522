with source as (
    select * from {{ source('ldz', 'ldz_ua_campaign') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        campaignid as campaign_id,
        campaigncode as campaign_code,
        name as campaign_name,
        objectives,
        startdate as start_date,
        enddate as end_date,
        status as campaign_status,
        owner as campaign_owner,
        updatedate as update_date,
        cast(updatedate as timestamp) as effective_from,
        {{ cdm.stg_metadata('ua_campaign') }}
    from source
),

final as (
    select
        {{ cdm.hash_key('campaign_id') }} as campaign_hk,
        {{ cdm.hash_diff(['campaign_code', 'campaign_name', 'objectives', 'start_date', 'end_date',
                          'campaign_status', 'campaign_owner']) }} as campaign_hashdiff,
        *
    from renamed
)

select * from final
