with source as (
    select * from {{ source('ldz', 'ldz_ua_flowchart') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        flowchartid as flowchart_id,
        campaignid as campaign_id,
        name as flowchart_name,
        flowcharttype as flowchart_type,
        status as flowchart_status,
        updatedate as update_date,
        cast(updatedate as timestamp) as effective_from,
        {{ cdm.stg_metadata('ua_flowchart') }}
    from source
),

final as (
    select
        {{ cdm.hash_key('flowchart_id') }} as flowchart_hk,
        {{ cdm.hash_key('campaign_id') }} as campaign_hk,
        {{ cdm.hash_key(['flowchart_id', 'campaign_id']) }} as flowchart_campaign_hk,
        {{ cdm.hash_diff(['flowchart_name', 'flowchart_type', 'flowchart_status']) }} as flowchart_hashdiff,
        *
    from renamed
)

select * from final
