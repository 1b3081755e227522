{{ cdm.sat(
    parent_hk='flowchart_hk',
    hashdiff='flowchart_hashdiff',
    attributes=[
        'flowchart_name', 'flowchart_type', 'flowchart_status'
    ],
    source='stg_mdm__flowchart'
) }}
