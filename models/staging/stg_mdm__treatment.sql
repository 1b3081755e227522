-- A treatment instance: the offer given to a cell in one run of a campaign's flowchart.
with source as (
    select * from {{ source('ldz', 'ldz_ua_treatment') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        treatmentinstid as treatment_inst_id,
        treatmentcode as treatment_code,
        campaignid as campaign_id,
        offerid as offer_id,
        cellid as cell_id,
        runid as run_id,
        effectivedatetime as effective_date_time,
        expirationdatetime as expiration_date_time,
        cast(_business_date as timestamp) as effective_from,
        {{ cdm.stg_metadata('ua_treatment') }}
    from source
),

final as (
    select
        {{ cdm.hash_key('treatment_inst_id') }} as treatment_hk,
        {{ cdm.hash_key('campaign_id') }} as campaign_hk,
        {{ cdm.hash_key('offer_id') }} as offer_hk,
        {{ cdm.hash_key('cell_id') }} as cell_hk,
        {{ cdm.hash_key('run_id') }} as flowchart_run_hk,
        {{ cdm.hash_key(['treatment_inst_id', 'campaign_id', 'offer_id', 'cell_id', 'run_id']) }}
            as treatment_cell_hk,
        {{ cdm.hash_diff(['treatment_code', 'effective_date_time', 'expiration_date_time']) }}
            as treatment_hashdiff,
        *
    from renamed
)

select * from final
