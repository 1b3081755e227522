-- Customer 360: one row per real customer (no ghost) as of the as-of date D.
-- Windows: "30d" and "90d" are the 30 and 90 calendar days ending on D, inclusive ([D-29, D], [D-89, D]).
-- Contacts count only statuses that count as a contact, responses only types that count as a response
-- (seeds/map_*.csv); revenue and the last response use every response. response_rate = responses /
-- contacts, 0 when there is no contact. ML enrichment: the latest score (by scored_at) of each model in
-- var('ml_models'), as <model>_score / _decile / _model_version / _scored_at; NULL when never scored.
with customers as (
    select * from {{ ref('ifl_customer') }}
),

contacts as (
    select * from {{ ref('ifl_contact') }}
),

responses as (
    select * from {{ ref('ifl_response') }}
),

ml_scores as (
    {{ cdm.current_version('s_customer_ml_score', 'customer_hk', ['model_name']) }}
),

as_of as (
    select {{ cdm.as_of_date() }} as as_of_date
),

counted_contacts as (
    select
        contacts.customer_hk,
        contacts.contact_date_time,
        contacts.contact_date,
        contacts.channel,
        as_of.as_of_date
    from contacts
    cross join as_of
    where
        contacts.counts_as_contact = 1
        and contacts.contact_date <= as_of.as_of_date
),

contact_kpis as (
    select
        customer_hk,
        min(contact_date_time) as first_contact_at,
        max(contact_date_time) as last_contact_at,
        count(*) as contacts_total,
        sum(case when contact_date >= as_of_date - 29 then 1 else 0 end) as contacts_30d,
        sum(case when contact_date >= as_of_date - 89 then 1 else 0 end) as contacts_90d
    from counted_contacts
    group by customer_hk
),

channel_ranked as (
    select
        customer_hk,
        channel,
        row_number() over (partition by customer_hk order by count(*) desc, channel) as channel_rank
    from counted_contacts
    where channel is not null
    group by customer_hk, channel
),

dated_responses as (
    select
        responses.customer_hk,
        responses.response_date_time,
        responses.response_date,
        responses.response_type_name,
        responses.counts_as_response,
        responses.revenue,
        responses.response_hk,
        as_of.as_of_date
    from responses
    cross join as_of
    where responses.response_date <= as_of.as_of_date
),

response_kpis as (
    select
        customer_hk,
        sum(counts_as_response) as responses_total,
        sum(case when response_date >= as_of_date - 29 then counts_as_response else 0 end) as responses_30d,
        sum(case when response_date >= as_of_date - 89 then counts_as_response else 0 end) as responses_90d,
        sum(revenue) as revenue_total,
        sum(case when response_date >= as_of_date - 89 then revenue else 0 end) as revenue_90d
    from dated_responses
    group by customer_hk
),

last_response as (
    select
        customer_hk,
        response_type_name,
        response_date_time,
        row_number() over (
            partition by customer_hk order by response_date_time desc, response_hk desc
        ) as response_rank
    from dated_responses
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
        contact_kpis.first_contact_at,
        contact_kpis.last_contact_at,
        coalesce(contact_kpis.contacts_total, 0) as contacts_total,
        coalesce(contact_kpis.contacts_30d, 0) as contacts_30d,
        coalesce(contact_kpis.contacts_90d, 0) as contacts_90d,
        coalesce(response_kpis.responses_total, 0) as responses_total,
        coalesce(response_kpis.responses_30d, 0) as responses_30d,
        coalesce(response_kpis.responses_90d, 0) as responses_90d,
        {{ cdm.safe_ratio('response_kpis.responses_total', 'contact_kpis.contacts_total') }} as response_rate,
        coalesce(response_kpis.revenue_total, 0) as revenue_total,
        coalesce(response_kpis.revenue_90d, 0) as revenue_90d,
        last_response.response_type_name as last_response_type,
        last_response.response_date_time as last_response_at,
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
    left join contact_kpis on customers.customer_hk = contact_kpis.customer_hk
    left join response_kpis on customers.customer_hk = response_kpis.customer_hk
    left join last_response
        on
            customers.customer_hk = last_response.customer_hk
            and last_response.response_rank = 1
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
