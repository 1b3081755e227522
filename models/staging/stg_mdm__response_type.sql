with source as (
    select * from {{ source('ldz', 'ldz_ua_responsetype') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        responsetypeid as response_type_id,
        name as response_type_name,
        code as response_type_code,
        countsasresponse as counts_as_response,
        {{ cdm.stg_metadata('ua_responsetype') }}
    from source
),

final as (
    select
        {{ cdm.hash_diff(['response_type_name', 'response_type_code', 'counts_as_response']) }} as hashdiff,
        *
    from renamed
)

select * from final
