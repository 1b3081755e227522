{{ cdm.ref_table(
    key='response_type_id',
    hashdiff='hashdiff',
    attributes=['response_type_name', 'response_type_code', 'counts_as_response'],
    source='stg_mdm__response_type'
) }}
