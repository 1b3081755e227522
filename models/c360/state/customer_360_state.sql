-- Customer 360 activity state: per customer with any contact or response, the contact and response
-- KPIs as of the as-of date D (windows [D-29, D] and [D-89, D], inclusive; dates after D not counted).
-- One snapshot per as-of date; a day's refresh is the previous snapshot plus that day's changes
-- (macros/c360/refresh_plan.sql says when it can be, and logs why not), so it reads the day's rows and
-- the snapshot, not the contact history. first/last contact of a customer who lost a counted contact to
-- a restated status, and the last response of a customer with a response delivered again (its date or
-- type may have changed), are recomputed from that customer's contacts or responses.
-- depends_on: {{ ref('s_contact_status') }}
-- depends_on: {{ ref('map_contact_status') }}
-- depends_on: {{ ref('s_response_details') }}
-- depends_on: {{ ref('l_response') }}
-- depends_on: {{ ref('map_response_type') }}
{%- set plan = cdm.c360_refresh_plan() %}
{{ config(
    post_hook=["{{ cdm.c360_snapshot_retention() }}", "{{ cdm.vault_index(this, ['as_of_date', 'customer_hk']) }}"]
) }}

with contact_changes as (
    {{ cdm.c360_contact_changes(plan) }}
),

response_changes as (
    {{ cdm.c360_response_changes(plan) }}
),

{%- if plan.fast %}

    previous as (
        select * from {{ this }}
        where as_of_date = {{ plan.prev }}
    ),

{%- endif %}

contact_delta as (
    select
        customer_hk,
        {{ cdm.c360_window_sum('counted', 'contact_date') }} as contacts_total,
        {{ cdm.c360_window_sum('counted', 'contact_date', 30) }} as contacts_30d,
        {{ cdm.c360_window_sum('counted', 'contact_date', 90) }} as contacts_90d,
        max(case when is_restated = 1 and counted = 1 and contact_date <= ref_date then 1 else 0 end) as lost_contact
    from contact_changes
    group by customer_hk
),

response_delta as (
    select
        customer_hk,
        {{ cdm.c360_window_sum('counts_as_response', 'response_date') }} as responses_total,
        {{ cdm.c360_window_sum('counts_as_response', 'response_date', 30) }} as responses_30d,
        {{ cdm.c360_window_sum('counts_as_response', 'response_date', 90) }} as responses_90d,
        {{ cdm.c360_window_sum('revenue', 'response_date') }} as revenue_total,
        {{ cdm.c360_window_sum('revenue', 'response_date', 90) }} as revenue_90d,
        max(is_restated) as redelivered_response
    from response_changes
    group by customer_hk
),

lost_customers as (
    select customer_hk from contact_delta
    where lost_contact = 1
),

-- first/last counted contact up to D: the previous bounds widened by the contacts added, or, for a
-- customer who lost a counted contact, all of the customer's counted contacts again
contact_times as (
    select
        customer_hk,
        contact_date_time
    from contact_changes
    where sign = 1 and counted = 1 and contact_date <= ref_date
    {%- if plan.fast %}
        {%- for bound in ['first_contact_at', 'last_contact_at'] %}
            union all
            select
                previous.customer_hk,
                previous.{{ bound }} as contact_date_time
            from previous
            left join lost_customers on previous.customer_hk = lost_customers.customer_hk
            where previous.{{ bound }} is not null and lost_customers.customer_hk is null
        {%- endfor %}
        union all
        select
            contacts.customer_hk,
            contacts.contact_date_time
        from {{ ref('ifl_contact') }} as contacts
        inner join lost_customers on contacts.customer_hk = lost_customers.customer_hk
        where
            contacts.counts_as_contact = 1
            and contacts.contact_date <= {{ plan.as_of }}
    {%- endif %}
),

contact_bounds as (
    select
        customer_hk,
        min(contact_date_time) as first_contact_at,
        max(contact_date_time) as last_contact_at
    from contact_times
    group by customer_hk
),

redelivered_customers as (
    select customer_hk from response_delta
    where redelivered_response = 1
),

-- the last response up to D (any type): the previous one or a later one added; for a customer with a
-- response delivered again, from all of the customer's responses
response_candidates as (
    select
        customer_hk,
        response_date_time,
        response_hk,
        response_type_name
    from response_changes
    where sign = 1 and response_date <= ref_date
    {%- if plan.fast %}
        union all
        select
            previous.customer_hk,
            previous.last_response_at as response_date_time,
            previous.last_response_hk as response_hk,
            previous.last_response_type as response_type_name
        from previous
        left join redelivered_customers on previous.customer_hk = redelivered_customers.customer_hk
        where previous.last_response_hk is not null and redelivered_customers.customer_hk is null
        union all
        select
            responses.customer_hk,
            responses.response_date_time,
            responses.response_hk,
            responses.response_type_name
        from {{ ref('ifl_response') }} as responses
        inner join redelivered_customers on responses.customer_hk = redelivered_customers.customer_hk
        where responses.response_date <= {{ plan.as_of }}
    {%- endif %}
),

last_response as (
    select
        customer_hk,
        response_date_time,
        response_hk,
        response_type_name,
        row_number() over (
            partition by customer_hk order by response_date_time desc, response_hk desc
        ) as response_rank
    from response_candidates
),

customers as (
    select customer_hk from contact_delta
    union
    select customer_hk from response_delta
    {%- if plan.fast %}
        union
        select customer_hk from previous
    {%- endif %}
),

final as (
    select
        {{ plan.as_of }} as as_of_date,
        customers.customer_hk,
        {%- for kpi in ['contacts_total', 'contacts_30d', 'contacts_90d'] %}
            {% if plan.fast %}coalesce(previous.{{ kpi }}, 0) + {% endif -%}
            coalesce(contact_delta.{{ kpi }}, 0) as {{ kpi }},
        {%- endfor %}
        contact_bounds.first_contact_at,
        contact_bounds.last_contact_at,
        {%- for kpi in ['responses_total', 'responses_30d', 'responses_90d'] %}
            {% if plan.fast %}coalesce(previous.{{ kpi }}, 0) + {% endif -%}
            coalesce(response_delta.{{ kpi }}, 0) as {{ kpi }},
        {%- endfor %}
        {%- for kpi in ['revenue_total', 'revenue_90d'] %}
            cast(
                {% if plan.fast %}coalesce(previous.{{ kpi }}, 0) + {% endif -%}
                coalesce(response_delta.{{ kpi }}, 0) as numeric(18, 2)
            ) as {{ kpi }},
        {%- endfor %}
        last_response.response_type_name as last_response_type,
        last_response.response_date_time as last_response_at,
        last_response.response_hk as last_response_hk,
        {{ cdm.c360_snapshot_columns(plan) }}
    from customers
    left join contact_delta on customers.customer_hk = contact_delta.customer_hk
    left join response_delta on customers.customer_hk = response_delta.customer_hk
    left join contact_bounds on customers.customer_hk = contact_bounds.customer_hk
    left join last_response
        on
            customers.customer_hk = last_response.customer_hk
            and last_response.response_rank = 1
    {%- if plan.fast %}
        left join previous on customers.customer_hk = previous.customer_hk
    {%- endif %}
)

select * from final
