-- Customer 360: one row per real customer (no ghost) as of the as-of date D: the current profile, the
-- activity KPIs of customer_360_state and customer_channel_state (refreshed from the previous day's
-- snapshot plus the day's changes) and the latest ML scores.
-- Windows: "30d" and "90d" are the 30 and 90 calendar days ending on D, inclusive ([D-29, D], [D-89, D]).
-- Contacts count only statuses that count as a contact, responses only types that count as a response
-- (seeds/map_*.csv); revenue and the last response use every response. response_rate = responses /
-- contacts, 0 when there is no contact. ML enrichment: each model in var('ml_models') as scored for the latest
-- business date up to D (of that date's scorings the last by scored_at: a past date scored again does not
-- override a newer one), as <model>_score / _decile / _model_version / _scored_at; NULL when never scored.
with customers as (
    select * from {{ ref('ifl_customer') }}
),

activity as (
    select * from {{ ref('customer_360_state') }}
    where as_of_date = {{ cdm.as_of_date() }}
),

channels as (
    select * from {{ ref('customer_channel_state') }}
    where as_of_date = {{ cdm.as_of_date() }}
),

ml_scores as (
    {{ cdm.current_version('s_customer_ml_score', 'customer_hk', ['model_name'], by_business_date=true) }}
),

as_of as (
    select {{ cdm.as_of_date() }} as as_of_date
),

channel_ranked as (
    select
        customer_hk,
        channel,
        row_number() over (partition by customer_hk order by contacts desc, channel asc) as channel_rank
    from channels
),

final as (
    select
        customers.customer_hk,
        customers.customer_id,
        as_of.as_of_date,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.phone,
        customers.gender,
        customers.birth_date,
        cast(floor((as_of.as_of_date - customers.birth_date) / 365.25) as integer) as age_years,
        as_of.as_of_date - customers.created_date as tenure_days,
        customers.city,
        customers.country_code,
        customers.country_name,
        customers.region,
        customers.segment_code,
        customers.segment_name,
        activity.first_contact_at,
        activity.last_contact_at,
        coalesce(activity.contacts_total, 0) as contacts_total,
        coalesce(activity.contacts_30d, 0) as contacts_30d,
        coalesce(activity.contacts_90d, 0) as contacts_90d,
        coalesce(activity.responses_total, 0) as responses_total,
        coalesce(activity.responses_30d, 0) as responses_30d,
        coalesce(activity.responses_90d, 0) as responses_90d,
        {{ cdm.safe_ratio('activity.responses_total', 'activity.contacts_total') }} as response_rate,
        cast(coalesce(activity.revenue_total, 0) as numeric(18, 2)) as revenue_total,
        cast(coalesce(activity.revenue_90d, 0) as numeric(18, 2)) as revenue_90d,
        activity.last_response_type,
        activity.last_response_at,
        channel_ranked.channel as preferred_channel,
        {%- for model in var('ml_models') %}
            score_{{ loop.index }}.score as {{ model }}_score,
            score_{{ loop.index }}.decile as {{ model }}_decile,
            score_{{ loop.index }}.model_version as {{ model }}_model_version,
            score_{{ loop.index }}.scored_at as {{ model }}_scored_at,
        {%- endfor %}
        customers.profile_updated_at
    from customers
    cross join as_of
    left join activity on customers.customer_hk = activity.customer_hk
    left join channel_ranked
        on
            customers.customer_hk = channel_ranked.customer_hk
            and channel_ranked.channel_rank = 1
    {%- for model in var('ml_models') %}
        left join ml_scores as score_{{ loop.index }}
            on
                customers.customer_hk = score_{{ loop.index }}.customer_hk
                and score_{{ loop.index }}.model_name = '{{ model }}'
    {%- endfor %}
)

select * from final
