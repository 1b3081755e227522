{{ cdm.hub(
    hk='flowchart_run_hk',
    bk='run_id',
    sources=[
        'stg_mdm__flowchart_run',
        'stg_mdm__treatment'
    ]
) }}
