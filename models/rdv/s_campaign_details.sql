{{ cdm.sat(
    parent_hk='campaign_hk',
    hashdiff='campaign_hashdiff',
    attributes=[
        'campaign_code', 'campaign_name', 'objectives', 'start_date', 'end_date',
        'campaign_status', 'campaign_owner'
    ],
    source='stg_mdm__campaign'
) }}
