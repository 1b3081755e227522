{{ cdm.link(
    hk='flowchart_run_flowchart_hk',
    parents=[
        'flowchart_run_hk',
        'flowchart_hk'
    ],
    sources='stg_mdm__flowchart_run'
) }}
