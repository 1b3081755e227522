{{ cdm.hub(
    hk='customer_hk',
    bk='customer_id',
    sources=[
        'stg_mdm__customer',
        'stg_mdm__contact_history',
        'stg_mdm__response_history'
    ]
) }}
