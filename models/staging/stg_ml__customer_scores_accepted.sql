{#- The write-back rows that passed every check: the satellite's source (the vault macros read a whole
    model, so the filter lives here; a view, nothing is copied). -#}
{{ config(materialized='view', tags=['ml']) }}

with checked as (
    select * from {{ ref('stg_ml__customer_scores') }}
),

final as (
    select * from checked
    where reason_code is null
)

select * from final
