{{ cdm.hub(
    hk='flowchart_hk',
    bk='flowchart_id',
    sources=[
        'stg_mdm__flowchart',
        'stg_mdm__flowchart_run',
        'stg_mdm__cell'
    ]
) }}
