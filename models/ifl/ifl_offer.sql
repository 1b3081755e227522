-- Offers as of the as-of date, with the source channel mapped through seeds/map_channel.csv.
with hub as (
    select * from {{ ref('h_offer') }}
),

details as (
    {{ cdm.current_version('s_offer_details', 'offer_hk') }}
),

channel_map as (
    select * from {{ ref('map_channel') }}
),

final as (
    select
        hub.offer_hk,
        hub.offer_id,
        details.offer_code,
        details.offer_name,
        details.offer_type,
        details.channel as source_channel,
        channel_map.channel,
        channel_map.channel_group,
        details.effective_date,
        details.expiration_date
    from hub
    left join details on hub.offer_hk = details.offer_hk
    left join channel_map on details.channel = channel_map.source_channel
    where
        hub.offer_hk <> {{ cdm.ghost_key() }}
        and hub.business_date <= {{ cdm.as_of_date() }}
)

select * from final
