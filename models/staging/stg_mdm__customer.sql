with source as (
    select * from {{ source('ldz', 'ldz_customer') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        customerid as customer_id,
        firstname as first_name,
        lastname as last_name,
        email,
        phone,
        birthdate as birth_date,
        gender,
        city,
        country,
        segment,
        createddate as created_date,
        updatedate as update_date,
        cast(updatedate as timestamp) as effective_from,
        {{ cdm.stg_metadata('customer') }}
    from source
),

final as (
    select
        {{ cdm.hash_key('customer_id') }} as customer_hk,
        {{ cdm.hash_diff(['first_name', 'last_name', 'email', 'phone', 'birth_date', 'gender', 'city',
                          'country', 'segment', 'created_date']) }} as profile_hashdiff,
        *
    from renamed
)

select * from final
