-- Responses: customer x treatment x response pack. The source has no change time for a response: a
-- response delivered again (a later date, or the date landed again) with corrected values is a new version
-- in s_response_details, effective from the business date that delivered it (the link keeps the first).
with source as (
    select * from {{ source('ldz', 'ldz_ua_responsehistory') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        customerid as customer_id,
        treatmentinstid as treatment_inst_id,
        responsepackid as response_pack_id,
        responsedatetime as response_date_time,
        responsetypeid as response_type_id,
        withindaterangeflg as within_date_range_flg,
        origcontactedflg as orig_contacted_flg,
        directresponse as direct_response,
        revenue,
        cast(_business_date as timestamp) as effective_from,
        {{ cdm.stg_metadata('ua_responsehistory') }}
    from source
),

final as (
    select
        {{ cdm.hash_key(['customer_id', 'treatment_inst_id', 'response_pack_id']) }} as response_hk,
        {{ cdm.hash_key('customer_id') }} as customer_hk,
        {{ cdm.hash_key('treatment_inst_id') }} as treatment_hk,
        {{ cdm.hash_diff(['response_date_time', 'response_type_id', 'within_date_range_flg', 'orig_contacted_flg',
                          'direct_response', 'revenue']) }} as details_hashdiff,
        *
    from renamed
)

select * from final
