{{ cdm.link(
    hk='cell_flowchart_hk',
    parents=[
        'cell_hk',
        'flowchart_hk'
    ],
    sources='stg_mdm__cell'
) }}
