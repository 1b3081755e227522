"""Stand-ins for the project's `cdm.*` macros when sqlfluff renders models with its jinja templater.

They return SQL of the same shape as the real macros (which dbt compiles and runs on DuckDB and
PostgreSQL in the test suite), so the models around them can be linted without a database.
"""


def _cols(columns):
    return [columns] if isinstance(columns, str) else list(columns)


def hash_key(columns):
    return "md5(" + " || '||' || ".join(_cols(columns)) + ")"


def hash_diff(columns):
    return "md5(" + " || '||' || ".join(sorted(_cols(columns))) + ")"


def ghost_key():
    return "'00000000000000000000000000000000'"


def batch_filter(column):
    return f"{column} between current_date and current_date"


def stg_metadata(table_name):
    return (
        "cast(_business_date as timestamp) as load_dts,\n"
        "        _business_date as business_date,\n"
        f"        'mdm.{table_name}' as record_source,\n"
        "        _load_id as load_id,\n"
        "        _row_number as source_row_number"
    )


def _vault(**kwargs):
    return "select 1 as vault_table"


hub = link = nh_link = sat = ref_table = _vault


def as_of_date():
    return "current_date"


def current_version(sat, parent_hk, partition_by=()):
    return f"select * from {sat} where {parent_hk} is not null"


def safe_ratio(numerator, denominator):
    return f"cast({numerator} as double precision) / nullif({denominator}, 0)"


def seconds_between(start, finish):
    return f"extract(epoch from ({finish} - {start}))"
