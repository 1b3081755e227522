{{ cdm.sat(
    parent_hk='cell_hk',
    hashdiff='cell_hashdiff',
    attributes=[
        'cell_code', 'cell_name', 'is_control', 'control_cell_id'
    ],
    source='stg_mdm__cell'
) }}
