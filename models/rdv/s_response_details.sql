{{ cdm.sat(
    parent_hk='response_hk',
    hashdiff='details_hashdiff',
    attributes=[
        'response_date_time', 'response_type_id', 'within_date_range_flg', 'orig_contacted_flg', 'direct_response',
        'revenue'
    ],
    source='stg_mdm__response_history'
) }}
