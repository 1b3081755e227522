{#- The ML write-back for the load window, validated like any source: every row gets a reason_code
    (NULL = good). ML_SCORE_INVALID: unknown customer (not in rdv.h_customer), missing model_name or
    model_version, score NULL or outside [0, 1], decile outside 1..10, missing scored_at, or a duplicate
    (customer, model, business date) - every copy is rejected, none is picked. STALE_SOURCE: scored_at
    more than var ml_score_max_age_days before its business date. Good rows feed s_customer_ml_score
    (through stg_ml__customer_scores_accepted), bad ones cdm_ingest.ml_score_rejects. -#}
{{ config(tags=['ml']) }}

with source as (
    select * from {{ source('cdm_ingest', 'ml_customer_scores') }}
    where {{ cdm.batch_filter('business_date') }}
),

hub as (
    select * from {{ ref('h_customer') }}
),

renamed as (
    select
        {{ cdm.hash_key('customer_id') }} as customer_hk,
        customer_id,
        model_name,
        model_version,
        score,
        decile,
        scored_at,
        scored_at as effective_from,
        -- the hashed score: fixed scale (same text on every engine); out of range is rejected anyway
        case when score between 0 and 1 then cast(score as decimal(18, 10)) end as score_fixed,
        cast(business_date as timestamp) as load_dts,
        business_date,
        cast('cdm_ingest.ml_customer_scores' as varchar) as record_source,
        model_version as load_id
    from source
),

checked as (
    select
        renamed.*,
        known.customer_hk as known_customer_hk,
        count(*) over (
            partition by renamed.customer_hk, renamed.model_name, renamed.business_date
        ) as copies
    from renamed
    left join hub as known
        on
            renamed.customer_hk = known.customer_hk
            and known.customer_hk <> {{ cdm.ghost_key() }}
),

classified as (
    select
        *,
        case
            when known_customer_hk is null then 'unknown customer (not in rdv.h_customer)'
            when coalesce({{ cdm.trim_spaces('model_name') }}, '') = '' then 'missing model_name'
            when coalesce({{ cdm.trim_spaces('model_version') }}, '') = '' then 'missing model_version'
            when score_fixed is null then 'score NULL or outside [0, 1]'
            when decile is null or decile not between 1 and 10 then 'decile NULL or outside 1..10'
            when scored_at is null then 'missing scored_at'
            when copies > 1 then 'duplicate (customer, model, business date): every copy rejected'
            when scored_at < load_dts - interval '1 day' * {{ var('ml_score_max_age_days') }}
                then 'scored_at more than {{ var("ml_score_max_age_days") }} days before the business date'
        end as reason_detail
    from checked
),

final as (
    select
        customer_hk,
        {{ cdm.hash_diff(['model_name', 'model_version', 'score_fixed', 'decile']) }} as score_hashdiff,
        customer_id,
        model_name,
        model_version,
        score,
        decile,
        scored_at,
        effective_from,
        case
            when reason_detail like 'scored_at more than %' then 'STALE_SOURCE'
            when reason_detail is not null then 'ML_SCORE_INVALID'
        end as reason_code,
        reason_detail,
        copies,
        load_dts,
        business_date,
        record_source,
        load_id
    from classified
)

select * from final
