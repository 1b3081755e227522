"""The end-to-end demo: the whole loop on one warehouse, each step printed as it happens.

generate → `dq backfill` of every date (ingest each into LDZ, then one dbt build of RDV, IFL, 360 and publish
over the range) → `dq run --from-layer ml` of the last date (ML scores written to cdm_ingest, ingested by the
vault, Customer 360 enriched) → Great Expectations validates every layer → per-layer counts and the top rows
of each 360 table. Both loads are recorded in meta.etl_runs with their evidence, as the service team's runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import ops
from .generator import generate
from .reason_codes import ReasonCode
from .warehouse import Warehouse

STEPS = 4
LAYER_SCHEMAS = ("ldz", "stg", "rdv", "ifl", "c360", "cdm_publish", "cdm_ingest", "meta")


@dataclass
class DemoResult:
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _step(console: Console, n: int, title: str) -> None:
    console.rule(f"[bold]{n}/{STEPS} {title}")


def _show(console: Console, result: DemoResult, show_run: Callable[[ops.RunResult], None], res: ops.RunResult,
          what: str) -> None:
    """A finished run: its steps, the dbt nodes that failed, its evidence; a failed run is a problem."""
    show_run(res)
    for n in res.models:
        if n["status"] in ("error", "fail"):
            console.print(f"  [red]{n['status']}[/] [{n['reason_code']}] {n['unique_id']}: {n['message']}")
    console.print(f"  status {res.status}; evidence: {res.evidence_path}")
    if not res.ok:
        result.problems.append(f"{what} failed ({res.reason_code})")


def layer_counts(target: str | None) -> list[tuple[str, int, int]]:
    """(schema, tables, rows) per layer schema, in layer order. A PostgreSQL partition is counted in its
    parent only (information_schema lists both)."""
    with Warehouse(target) as wh:
        p = wh.param
        partitions = (" and (table_schema, table_name) not in (select n.nspname, c.relname from pg_class c "
                      "join pg_namespace n on n.oid = c.relnamespace where c.relispartition)"
                      if wh.engine == "postgres" else "")
        names = wh.query(  # lower(): Snowflake keeps unquoted names upper-cased
            "select table_schema, table_name from information_schema.tables "
            f"where lower(table_schema) in ({', '.join([p] * len(LAYER_SCHEMAS))}){partitions}", list(LAYER_SCHEMAS))
        per_layer: dict[str, list[int]] = {}
        for schema, table in names:
            per_layer.setdefault(schema.lower(), []).append(
                int(wh.scalar(f'select count(*) from "{schema}"."{table}"')))
    return [(s, len(per_layer[s]), sum(per_layer[s])) for s in LAYER_SCHEMAS if s in per_layer]


TOP_ROWS = {
    "Customer 360 — top 5 by response propensity (cdm_publish.customer_360_v1)": (
        "select customer_id as customer, segment, contacts_total as contacts, responses_total as responses, "
        "revenue_total as revenue, preferred_channel as channel, response_propensity_score as score, "
        "response_propensity_decile as decile, response_propensity_gbm_score as gbm_score "
        "from cdm_publish.customer_360_v1 order by response_propensity_score desc nulls last, customer_id limit 5"),
    "Campaign 360 (cdm_publish.campaign_360_v1)": (
        "select campaign_code as campaign, flowcharts, production_executions as executions, contacts, "
        "unique_customers_contacted as customers, responses, response_rate as rate, revenue, "
        "control_response_rate as control, target_response_rate as target, uplift_abs as uplift "
        "from cdm_publish.campaign_360_v1 order by campaign_id limit 8"),
    "Flowchart 360 — top 5 by contacts (cdm_publish.flowchart_360_v1)": (
        "select flowchart_id as flowchart, campaign_code as campaign, execution_count as executions, "
        "failed_runs as failed, last_run_status as last_run, avg_run_duration_seconds / 60 as avg_minutes, "
        "contacts, responses, response_rate as rate, revenue "
        "from cdm_publish.flowchart_360_v1 order by contacts desc, flowchart_id limit 5"),
}
LEFT = ("customer", "segment", "channel", "campaign", "flowchart", "last_run")


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def top_rows(target: str | None) -> list[Table]:
    tables = []
    with Warehouse(target) as wh:
        for title, sql in TOP_ROWS.items():
            columns, rows = wh.query_with_columns(sql)
            t = Table(title=title, title_justify="left")
            for c in columns:
                t.add_column(c, justify="left" if c in LEFT else "right")
            for r in rows:
                t.add_row(*(_fmt(v) for v in r))
            tables.append(t)
    return tables


def run(target: str | None, customers: int, days: int, seed: int, out: Path, console: Console,
        show_run: Callable[[ops.RunResult], None]) -> DemoResult:
    """The demo's steps; the loads go through the run registry as the service team's commands do (a backfill
    of the range, then a run of the ML layer for the last date), so `dq runs`, `dq plan` and the evidence under
    reports/run_evidence/ show them. `show_run` prints a finished run's steps."""
    from . import ml
    from .validate import validate

    result = DemoResult()
    _step(console, 1, "generate[/] the Marketing Data Mart extract")
    gen = generate(out, customers, days, seed, progress=lambda m: console.print(f"  {m}"))
    dates = [dt.date.fromisoformat(d) for d in gen.dates]
    first, last = dates[0], dates[-1]

    _step(console, 2, "dq backfill[/]: ingest every business date into LDZ, then ONE dbt build RDV → IFL → 360 → "
                      "publish for the range")
    loaded = ops.backfill(target, first, last, out, progress=lambda m: console.print(f"  {m}"))
    _show(console, result, show_run, loaded, f"backfill {first}..{last}")
    if not loaded.ok:
        return result

    _step(console, 3, f"dq run --from-layer ml[/] for {last}: train on cdm_publish, write the scores back to "
                      "cdm_ingest, the vault ingests them, Customer 360 and publish are refreshed")
    scored = ops.run_date(target, last, out, from_layer="ml", to_layer="ml", progress=lambda m: console.print(f"  {m}"))
    failed = scored.failed_step
    if failed is not None and failed.reason_code == ReasonCode.ZERO_ROWS.value:  # too small an extract to train on
        show_run(scored)
        console.print(f"  [red]not scored:[/] [{failed.reason_code}] {failed.err_msg}. A larger extract trains: "
                      "`dq demo` (5,000 customers x 7 days)")
        result.problems.append(f"ML scoring: {failed.reason_code}")
    else:
        _show(console, result, show_run, scored, f"ML run {last}")
    if scored.ok:
        with Warehouse(target) as wh:
            for name, version, auc, holdout, n in wh.query(
                    f"select model_name, model_version, auc, holdout_rows, scored_rows from {ml.RUNS} "
                    f"where business_date = {wh.param} order by model_name", [last]):
                console.print(f"  {name} ({version}): AUC {auc:.3f} on a {holdout}-row holdout, {n:,} customers scored")

    _step(console, 4, f"validate[/] every layer with Great Expectations for {last}")
    checked = validate(target, "all", last, progress=lambda m: console.print(f"  {m}"))
    passed = len(checked.results) - len(checked.failed) - len(checked.errors)
    console.print(f"  {passed}/{len(checked.results)} checks passed; Data Docs: {checked.data_docs}")
    for r in checked.failed + checked.errors:
        console.print(f"  [red]{r.status}[/] [{r.reason_code}] {r.layer} {r.check}: observed {r.observed}")
    if not checked.ok:
        result.problems.append("validation failed")

    t = Table(title="Rows per layer", title_justify="left")
    for c, j in (("layer (schema)", "left"), ("tables", "right"), ("rows", "right")):
        t.add_column(c, justify=j)
    for schema, n_tables, rows in layer_counts(target):
        t.add_row(schema, str(n_tables), f"{rows:,}")
    console.print(t)
    for table in top_rows(target):
        console.print(table)
    return result
