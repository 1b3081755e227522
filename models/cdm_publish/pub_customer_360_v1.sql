-- cdm_publish.customer_360_v1: the consumer contract of Customer 360 (enforced: names and types).
-- What consumers need, not every raw attribute: no name, phone or birth date (age instead); email is
-- published for activation and tagged PII. Scores: one column group per model in var('ml_models') (the
-- contract in _cdm_publish__models.yml lists them: change both together).
{{ config(grants=cdm.publish_grants(), post_hook=cdm.publish_schema_usage()) }}
-- The three published tables move together: each waits for all three 360 models, so a failure upstream
-- of any of them (an unmapped code, a failed 360 check) skips all three and consumers keep one as-of date.
-- depends_on: {{ ref('campaign_360') }}
-- depends_on: {{ ref('flowchart_360') }}

with customer_360 as (
    select * from {{ ref('customer_360') }}
),

final as (
    select
        cast(customer_id as varchar(20)) as customer_id,
        cast(as_of_date as date) as as_of_date,
        cast(email as varchar(200)) as email,
        cast(gender as varchar(10)) as gender,
        cast(age_years as integer) as age_years,
        cast(tenure_days as integer) as tenure_days,
        cast(country_code as varchar(2)) as country_code,
        cast(region as varchar(50)) as region,
        cast(segment_code as varchar(20)) as segment,
        cast(first_contact_at as timestamp) as first_contact_at,
        cast(last_contact_at as timestamp) as last_contact_at,
        cast(contacts_total as bigint) as contacts_total,
        cast(contacts_30d as bigint) as contacts_30d,
        cast(contacts_90d as bigint) as contacts_90d,
        cast(responses_total as bigint) as responses_total,
        cast(responses_30d as bigint) as responses_30d,
        cast(responses_90d as bigint) as responses_90d,
        cast(response_rate as double precision) as response_rate,
        cast(revenue_total as numeric(18, 2)) as revenue_total,
        cast(revenue_90d as numeric(18, 2)) as revenue_90d,
        cast(last_response_type as varchar(100)) as last_response_type,
        cast(last_response_at as timestamp) as last_response_at,
        {%- for model in var('ml_models') %}
            cast({{ model }}_score as double precision) as {{ model }}_score,
            cast({{ model }}_decile as integer) as {{ model }}_decile,
            cast({{ model }}_model_version as varchar(100)) as {{ model }}_model_version,
            cast({{ model }}_scored_at as timestamp) as {{ model }}_scored_at,
        {%- endfor %}
        cast(preferred_channel as varchar(100)) as preferred_channel
    from customer_360
)

select * from final
