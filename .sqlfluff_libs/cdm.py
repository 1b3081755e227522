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


def trim_spaces(expr):
    return f"trim({expr})"


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


def current_version(sat, parent_hk, partition_by=(), by_business_date=False):
    return f"select * from {sat} where {parent_hk} is not null"


def safe_ratio(numerator, denominator):
    return f"cast({numerator} as double precision) / nullif({denominator}, 0)"


def seconds_between(start, finish):
    return f"extract(epoch from ({finish} - {start}))"


def run_timestamp():
    return "cast(current_timestamp as timestamp)"


def c360_refresh_plan(in_place=False):
    # the fast branch is the larger one: lint that
    return {"fast": True, "prev": "(current_date - 1)", "as_of": "current_date", "reason": "lint"}


def c360_contact_changes(plan):
    return ("select customer_hk, flowchart_hk, campaign_hk, channel, is_control, contact_date, contact_date_time,"
            " 1 as counted, 1 as sign, 0 as is_restated, current_date as ref_date from ifl_contact")


def c360_response_changes(plan):
    return ("select customer_hk, flowchart_hk, campaign_hk, is_control, response_hk, response_date,"
            " response_date_time, response_type_name, counts_as_response, revenue, 1 as sign,"
            " 0 as is_restated, current_date as ref_date from ifl_response")


def ifl_touched_events(link, versions, hk):
    # the incremental branch: the model's own CTEs read delivered, window_versions, touched and previous
    return (f"delivered as (select * from {link}),\n\n"
            f"window_versions as (select * from {versions}),\n\n"
            "touched as (select * from delivered),\n\n"
            "previous as (select * from delivered),\n")


def c360_window_sum(value, date_column, days=None):
    return f"sum(case when {date_column} <= ref_date then sign * {value} else 0 end)"


def c360_snapshot_columns(plan):
    return ("cast(null as date) as refreshed_from,\n        1 as is_exact,\n"
            "        cast(current_timestamp as timestamp) as built_at")


def publish_grants():
    return {}


def publish_schema_usage():
    return []
