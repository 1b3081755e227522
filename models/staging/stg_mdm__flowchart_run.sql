-- ua_ccrunlog: one row per flowchart run (execution). A run still running at extract time comes
-- again when it ends, so its change time is the end time, or the start time while it runs.
with source as (
    select * from {{ source('ldz', 'ldz_ua_ccrunlog') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        runid as run_id,
        flowchartid as flowchart_id,
        runtype as run_type,
        runstatus as run_status,
        runstarttime as run_start_time,
        runendtime as run_end_time,
        recordsprocessed as records_processed,
        coalesce(runendtime, runstarttime) as effective_from,
        {{ cdm.stg_metadata('ua_ccrunlog') }}
    from source
),

final as (
    select
        {{ cdm.hash_key('run_id') }} as flowchart_run_hk,
        {{ cdm.hash_key('flowchart_id') }} as flowchart_hk,
        {{ cdm.hash_key(['run_id', 'flowchart_id']) }} as flowchart_run_flowchart_hk,
        {{ cdm.hash_diff(['run_type', 'run_status', 'run_start_time', 'run_end_time',
                          'records_processed']) }} as execution_hashdiff,
        *
    from renamed
)

select * from final
