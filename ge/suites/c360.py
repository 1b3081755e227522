"""360 suite: the 360 tables as of their build date (as_of_date), checked for plausibility.

  * ROW_COUNT_MISMATCH — customer_360 holds exactly the real hub customers (ghost excluded) first seen
    on or before its as_of_date, by key in both directions;
  * ANOMALY — flowchart_360: flowchart_id present, execution_count > 0, every pre-aggregated metric
    populated; response rates of customer, campaign and flowchart 360 within [0, 1].
"""

from dbt_project.reason_codes import ReasonCode
from dbt_project.validate import Check

GHOST = "'" + "0" * 32 + "'"
FLOWCHART_METRICS = ("execution_count", "last_run_at", "failed_runs", "avg_run_duration_seconds",
                     "records_processed", "contacts", "unique_customers", "responses", "response_rate", "revenue")
REQUIRES = ("c360.customer_360", "c360.campaign_360", "c360.flowchart_360", "rdv.h_customer")


def _rate(table: str) -> Check:
    return Check(
        f"{table}.response_rate_in_0_1", f"c360.{table}", ReasonCode.ANOMALY,
        "select * from {batch} where response_rate < 0 or response_rate > 1",
        f"response_rate of c360.{table} is within [0, 1]")


def checks() -> list[Check]:
    return [
        Check("customer_360.rows_equal_hub_customers", "c360.customer_360", ReasonCode.ROW_COUNT_MISMATCH,
              "select 'in rdv.h_customer, not in customer_360' as problem, customer_id from ("
              "select customer_id from rdv.h_customer where customer_hk <> " + GHOST + " "
              "and business_date <= (select max(as_of_date) from {batch}) "
              "except select customer_id from {batch}) as missing "
              "union all select 'in customer_360, not a real hub customer' as problem, customer_id from ("
              "select customer_id from {batch} except select customer_id from rdv.h_customer "
              "where customer_hk <> " + GHOST + ") as extra",
              "customer_360 rows = real customers of rdv.h_customer (ghost excluded) as of its date"),
        Check("flowchart_360.flowchart_id_present", "c360.flowchart_360", ReasonCode.ANOMALY,
              "select flowchart_hk, flowchart_id from {batch} where flowchart_id is null",
              "every flowchart_360 row has its flowchart_id"),
        Check("flowchart_360.execution_count_positive", "c360.flowchart_360", ReasonCode.ANOMALY,
              "select flowchart_id, execution_count from {batch} where not (execution_count > 0) "
              "or execution_count is null",
              "every flowchart in flowchart_360 has at least one production execution"),
        Check("flowchart_360.metrics_populated", "c360.flowchart_360", ReasonCode.ANOMALY,
              f"select flowchart_id, {', '.join(FLOWCHART_METRICS)} from {{batch}} "
              f"where {' or '.join(f'{m} is null' for m in FLOWCHART_METRICS)}",
              f"no NULL in the pre-aggregated metrics ({', '.join(FLOWCHART_METRICS)})"),
        _rate("flowchart_360"), _rate("campaign_360"), _rate("customer_360"),
    ]
