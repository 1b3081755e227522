-- Customers as of the as-of date: every real hub customer with the current version of the profile,
-- country and segment mapped through seeds/map_country.csv and seeds/map_segment.csv. A customer known
-- only from contact or response history (no profile yet) is kept, with an empty profile.
with hub as (
    select * from {{ ref('h_customer') }}
),

profile as (
    {{ cdm.current_version('s_customer_profile', 'customer_hk') }}
),

country_map as (
    select * from {{ ref('map_country') }}
),

segment_map as (
    select * from {{ ref('map_segment') }}
),

final as (
    select
        hub.customer_hk,
        hub.customer_id,
        profile.first_name,
        profile.last_name,
        profile.email,
        profile.phone,
        profile.birth_date,
        profile.gender,
        profile.city,
        profile.country as country_code,
        country_map.country_name,
        country_map.region,
        profile.segment as segment_code,
        segment_map.segment_name,
        segment_map.segment_rank,
        profile.created_date,
        profile.effective_from as profile_updated_at,
        hub.business_date as first_seen_date
    from hub
    left join profile on hub.customer_hk = profile.customer_hk
    left join country_map on profile.country = country_map.country_code
    left join segment_map on profile.segment = segment_map.segment_code
    where
        hub.customer_hk <> {{ cdm.ghost_key() }}
        and hub.business_date <= {{ cdm.as_of_date() }}
)

select * from final
