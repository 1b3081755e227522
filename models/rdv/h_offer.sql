{{ cdm.hub(
    hk='offer_hk',
    bk='offer_id',
    sources=[
        'stg_mdm__offer',
        'stg_mdm__treatment'
    ]
) }}
