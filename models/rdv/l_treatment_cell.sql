{{ cdm.link(
    hk='treatment_cell_hk',
    parents=[
        'treatment_hk',
        'campaign_hk',
        'offer_hk',
        'cell_hk',
        'flowchart_run_hk'
    ],
    sources='stg_mdm__treatment'
) }}
