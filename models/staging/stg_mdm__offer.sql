with source as (
    select * from {{ source('ldz', 'ldz_ua_offer') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        offerid as offer_id,
        offercode as offer_code,
        name as offer_name,
        channel,
        offertype as offer_type,
        effectivedate as effective_date,
        expirationdate as expiration_date,
        updatedate as update_date,
        cast(updatedate as timestamp) as effective_from,
        {{ cdm.stg_metadata('ua_offer') }}
    from source
),

final as (
    select
        {{ cdm.hash_key('offer_id') }} as offer_hk,
        {{ cdm.hash_diff(['offer_code', 'offer_name', 'channel', 'offer_type', 'effective_date',
                          'expiration_date']) }} as offer_hashdiff,
        *
    from renamed
)

select * from final
