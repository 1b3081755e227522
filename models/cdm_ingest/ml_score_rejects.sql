{#- The quarantine of the ML write-back: every row of cdm_ingest.ml_customer_scores that failed
    validation in stg_ml__customer_scores, with its reason_code and reason_detail. Insert-only and
    idempotent: a row already quarantined (same content and reason, same business date) is not added
    again, so rebuilding a date adds nothing; a re-scored date adds its new bad rows. -#}
{{ config(
    materialized='insert_only',
    post_hook="{{ cdm.vault_index(this, ['business_date']) }}"
) }}

with checked as (
    select * from {{ ref('stg_ml__customer_scores') }}
),

rejected as (
    select
        {{ cdm.hash_diff(['customer_id', 'model_name', 'model_version', 'score', 'decile', 'scored_at',
                          'business_date', 'reason_code']) }} as reject_hashdiff,
        business_date,
        customer_id,
        customer_hk,
        model_name,
        model_version,
        score,
        decile,
        scored_at,
        reason_code,
        reason_detail,
        copies,
        load_dts,
        record_source
    from checked
    where reason_code is not null
),

final as (
    select rejected.*
    from rejected
    {%- if vault_relation_exists() %}
        where not exists (
            select 1 from {{ this }} as quarantined
            where
                quarantined.business_date = rejected.business_date
                and quarantined.reject_hashdiff = rejected.reject_hashdiff
        )
    {%- endif %}
)

select * from final
