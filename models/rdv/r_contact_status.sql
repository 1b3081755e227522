{{ cdm.ref_table(
    key='contact_status_id',
    hashdiff='hashdiff',
    attributes=['contact_status_name', 'counts_as_contact'],
    source='stg_mdm__contact_status'
) }}
