{{ cdm.sat(
    parent_hk='treatment_hk',
    hashdiff='treatment_hashdiff',
    attributes=[
        'treatment_code', 'effective_date_time', 'expiration_date_time'
    ],
    source='stg_mdm__treatment'
) }}
