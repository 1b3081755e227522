-- The latest ingest of every business date and table: what landed, what was rejected and why.
with ldz_files as (
    select * from {{ source('meta', 'ldz_files') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by business_date, table_name order by loaded_at desc, load_id desc
        ) as recency
    from ldz_files
),

final as (
    select
        business_date,
        table_name,
        load_id,
        status,
        reason_code,
        message,
        file_name,
        source_root,
        sha256,
        rows_manifest,
        rows_file,
        rows_loaded,
        rows_rejected,
        loaded_at
    from ranked
    where recency = 1
)

select * from final
