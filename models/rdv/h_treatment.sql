{{ cdm.hub(
    hk='treatment_hk',
    bk='treatment_inst_id',
    sources=[
        'stg_mdm__treatment',
        'stg_mdm__response_history'
    ]
) }}
