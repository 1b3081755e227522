{{ cdm.sat(
    parent_hk='flowchart_run_hk',
    hashdiff='execution_hashdiff',
    attributes=[
        'run_type', 'run_status', 'run_start_time', 'run_end_time', 'records_processed'
    ],
    source='stg_mdm__flowchart_run'
) }}
