{{ cdm.hub(
    hk='cell_hk',
    bk='cell_id',
    sources=[
        'stg_mdm__cell',
        'stg_mdm__treatment',
        'stg_mdm__contact_history'
    ]
) }}
