{{ cdm.sat(
    parent_hk='contact_hk',
    hashdiff='status_hashdiff',
    attributes='contact_status_id',
    source='stg_mdm__contact_history'
) }}
