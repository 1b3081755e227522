{{ cdm.sat(
    parent_hk='customer_hk',
    hashdiff='profile_hashdiff',
    attributes=[
        'first_name', 'last_name', 'email', 'phone', 'birth_date', 'gender', 'city', 'country',
        'segment', 'created_date'
    ],
    source='stg_mdm__customer'
) }}
