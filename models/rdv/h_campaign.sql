{{ cdm.hub(
    hk='campaign_hk',
    bk='campaign_id',
    sources=[
        'stg_mdm__campaign',
        'stg_mdm__flowchart',
        'stg_mdm__treatment'
    ]
) }}
