with source as (
    select * from {{ source('ldz', 'ldz_ua_cell') }}
    where {{ cdm.batch_filter('_business_date') }}
),

renamed as (
    select
        cellid as cell_id,
        flowchartid as flowchart_id,
        cellcode as cell_code,
        cellname as cell_name,
        iscontrol as is_control,
        controlcellid as control_cell_id,
        updatedate as update_date,
        cast(updatedate as timestamp) as effective_from,
        {{ cdm.stg_metadata('ua_cell') }}
    from source
),

final as (
    select
        {{ cdm.hash_key('cell_id') }} as cell_hk,
        {{ cdm.hash_key('flowchart_id') }} as flowchart_hk,
        {{ cdm.hash_key(['cell_id', 'flowchart_id']) }} as cell_flowchart_hk,
        {{ cdm.hash_diff(['cell_code', 'cell_name', 'is_control', 'control_cell_id']) }} as cell_hashdiff,
        *
    from renamed
)

select * from final
