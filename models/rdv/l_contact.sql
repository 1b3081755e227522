{{ cdm.nh_link(
    hk='contact_hk',
    parents=['customer_hk', 'cell_hk'],
    attributes=['customer_id', 'cell_id', 'package_id', 'contact_date_time'],
    source='stg_mdm__contact_history',
    lookup_column='contact_date_time'
) }}
