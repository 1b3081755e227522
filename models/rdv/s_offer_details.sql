{{ cdm.sat(
    parent_hk='offer_hk',
    hashdiff='offer_hashdiff',
    attributes=[
        'offer_code', 'offer_name', 'channel', 'offer_type', 'effective_date', 'expiration_date'
    ],
    source='stg_mdm__offer'
) }}
