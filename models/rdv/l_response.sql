{{ cdm.nh_link(
    hk='response_hk',
    parents=['customer_hk', 'treatment_hk'],
    attributes=[
        'customer_id', 'treatment_inst_id', 'response_pack_id', 'response_date_time', 'response_type_id',
        'within_date_range_flg', 'orig_contacted_flg', 'direct_response', 'revenue'
    ],
    source='stg_mdm__response_history',
    lookup_column='response_date_time'
) }}
