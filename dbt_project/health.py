"""`dq healthcheck`: is the warehouse fit for consumers today? Read-only.

Checks, each with the reason code of a breach:

* **source freshness** — `dbt source freshness` on the LDZ sources (the latest LOADED file of each table in
  meta.ldz_files, empty files included: `loaded_at_query`; thresholds in models/ldz/_ldz__sources.yml): a
  source past `error_after` (or that cannot be read) is STALE_SOURCE; past `warn_after` it is a warning.
* **age of each 360 and publish table** — `max(as_of_date)` against the reference business date (the date
  control's current date when it exists, else the latest landed date): more than the SLA (days, default 0:
  built through the reference date) behind, or empty / missing, is ZERO_ROWS (no rows as of the date).
* **the reference date's data present** — the tables every business date feeds have rows for it
  (the same list as `dq alerts check`): ZERO_ROWS.
* **no negative amounts** — no revenue* column below zero in rdv (the date's rows), c360, cdm_publish:
  ANOMALY.

Exit 0 all pass, 1 a breach, 2 config/connection (nothing landed, warehouse unreachable).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import alerts
from .project import ConfigError, default_target, root
from .reason_codes import ReasonCode
from .warehouse import Warehouse

AGE_TABLES = ("c360.customer_360", "c360.campaign_360", "c360.flowchart_360",
              "cdm_publish.customer_360_v1", "cdm_publish.campaign_360_v1", "cdm_publish.flowchart_360_v1")
OK, WARN, BREACH, SKIPPED = "OK", "WARN", "BREACH", "SKIPPED"


@dataclass
class Check:
    check: str
    subject: str
    status: str
    observed: str = ""
    expected: str = ""
    reason_code: str | None = None
    message: str = ""


@dataclass
class HealthReport:
    target: str
    business_date: dt.date
    reference: str  # where the business date came from
    sla_days: int
    checks: list[Check] = field(default_factory=list)

    @property
    def breaches(self) -> list[Check]:
        return [c for c in self.checks if c.status == BREACH]

    @property
    def ok(self) -> bool:
        return not self.breaches

    @property
    def reason_codes(self) -> list[str]:
        return sorted({c.reason_code for c in self.breaches if c.reason_code})

    def as_dict(self) -> dict:
        return {"target": self.target, "business_date": self.business_date.isoformat(),
                "reference": self.reference, "sla_days": self.sla_days, "ok": self.ok,
                "reason_codes": self.reason_codes, "checks": [asdict(c) for c in self.checks]}


# --- the reference business date ------------------------------------------------------------------

def date_control_current(wh: Warehouse, target: str) -> dt.date | None:
    """The date control's current business date for this target (meta.etl_date_control, owned by
    dbt_project/registry.py; None when the warehouse has no date control yet). Read-only."""
    from .registry import current_date

    return current_date(wh, target)


def latest_landed(wh: Warehouse) -> dt.date | None:
    if not wh.table_exists("meta", "ldz_files"):
        return None
    value = wh.scalar("select max(business_date) from meta.ldz_files")
    return value if isinstance(value, dt.date) or value is None else dt.date.fromisoformat(str(value)[:10])


def reference_date(wh: Warehouse, target: str, day: dt.date | None) -> tuple[dt.date, str]:
    if day:
        return day, "--date"
    current = date_control_current(wh, target)
    if current:
        return current, "date control (meta.etl_date_control)"
    landed = latest_landed(wh)
    if landed:
        return landed, "latest landed date (meta.ldz_files; no date control)"
    raise ConfigError("no business date: nothing landed (meta.ldz_files) and no date control; "
                      "pass --date or run `dq ingest` first")


# --- checks ---------------------------------------------------------------------------------------

def table_age_checks(wh: Warehouse, day: dt.date, sla_days: int) -> list[Check]:
    out = []
    for table in AGE_TABLES:
        schema, name = table.split(".")
        if not wh.table_exists(schema, name):
            out.append(Check("table_age", table, BREACH, "missing", f"as of >= {day - dt.timedelta(sla_days)}",
                             ReasonCode.ZERO_ROWS.value, f"{table} does not exist: build it (`dq build`)"))
            continue
        as_of = wh.scalar(f"select max(as_of_date) from {table}")
        if as_of is None:
            out.append(Check("table_age", table, BREACH, "empty", f"as of >= {day - dt.timedelta(sla_days)}",
                             ReasonCode.ZERO_ROWS.value, f"{table} has no rows"))
            continue
        as_of = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])
        age = (day - as_of).days
        ok = age <= sla_days
        out.append(Check("table_age", table, OK if ok else BREACH, f"as of {as_of} ({age} day(s))",
                         f"<= {sla_days} day(s) behind {day}", None if ok else ReasonCode.ZERO_ROWS.value,
                         "" if ok else f"{table} is as of {as_of}, {age} day(s) behind {day} (SLA {sla_days}): "
                                       f"no rows as of {day}; build through it"))
    return out


def _from_finding(f: alerts.Finding, check: str) -> Check:
    return Check(check, f.table, {"OK": OK, "ALERT": BREACH, "SKIPPED": SKIPPED}[f.status],
                 "" if f.observed is None else str(f.observed), f.expected, f.reason_code, f.message)


def dbt_target_path() -> Path:
    p = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return p if p.is_absolute() else root() / p


def freshness_checks(target: str | None) -> list[Check]:
    """`dbt source freshness` on the LDZ sources, in-process; one check per source table."""
    from . import dbt

    argv = ["source", *dbt.build_argv("freshness", target=target, select=["source:ldz"], extra=["--quiet"])]
    sources_json = dbt_target_path() / "sources.json"
    sources_json.unlink(missing_ok=True)
    outcome = dbt.run(argv)
    if not sources_json.exists():
        raise ConfigError(f"dbt source freshness did not run: {outcome.error or 'no sources.json written'}")
    results = json.loads(sources_json.read_text())["results"]
    out = []
    for r in sorted(results, key=lambda r: r["unique_id"]):
        name = r["unique_id"].split(".", 2)[-1]
        status = r["status"]
        age = r.get("max_loaded_at_time_ago_in_s")
        crit = r.get("criteria") or {}
        expected = ", ".join(f"{k.split('_')[0]} after {v['count']} {v['period']}(s)"
                             for k, v in crit.items() if isinstance(v, dict) and v.get("count"))
        observed = f"loaded {age / 3600:.1f} h ago" if age is not None else (r.get("message") or status)
        if status == "pass":
            out.append(Check("source_freshness", name, OK, observed, expected))
        elif status == "warn":
            out.append(Check("source_freshness", name, WARN, observed, expected, ReasonCode.STALE_SOURCE.value,
                             f"{name} is past warn_after"))
        else:  # error / runtime error
            out.append(Check("source_freshness", name, BREACH, observed, expected, ReasonCode.STALE_SOURCE.value,
                             f"{name} is past error_after" if status == "error"
                             else f"{name} freshness could not be read: {r.get('message')}"))
    return out


def healthcheck(target: str | None, day: dt.date | None = None, sla_days: int | None = None,
                freshness: bool = True) -> HealthReport:
    target = target or default_target()
    sla_days = int(os.environ.get("DQ_SLA_DAYS", "0")) if sla_days is None else sla_days
    with Warehouse(target) as wh:  # closed before dbt runs (DuckDB: one writer)
        day, reference = reference_date(wh, target, day)
        report = HealthReport(target, day, reference, sla_days)
        report.checks += table_age_checks(wh, day, sla_days)
        report.checks += [_from_finding(f, "data_present") for f in alerts.zero_row_findings(wh, day)]
        report.checks += [_from_finding(f, "negative_amounts") for f in alerts.negative_revenue_findings(wh, day)]
    if freshness:
        report.checks = freshness_checks(target) + report.checks
    return report
