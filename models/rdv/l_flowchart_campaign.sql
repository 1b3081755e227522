{{ cdm.link(
    hk='flowchart_campaign_hk',
    parents=[
        'flowchart_hk',
        'campaign_hk'
    ],
    sources='stg_mdm__flowchart'
) }}
