{{ config(tags=['ml']) }}
{{ cdm.sat(
    parent_hk='customer_hk',
    hashdiff='score_hashdiff',
    attributes=['model_name', 'model_version', 'score', 'decile', 'scored_at'],
    source='stg_ml__customer_scores_accepted',
    effective_from='effective_from',
    multi_active='model_name'
) }}
