"""`dq validate`: Great Expectations checkpoints between layers (issue 5), results in meta.dq_results.

The checks are reviewable code, one module per layer under ge/suites/ (`ge/suites/rdv.py`, ...). A check
is an *unexpected-rows* query: the rows it returns are the failures, each check carries one reason code
(dbt_project/reason_codes.py). In a query, `{batch}` stands for the check's table (GX substitutes it:
never alias it) and `:business_date` for the date being validated.

GX runs them from its file context under ge/gx/ (datasources named like the dbt targets; the connection
string is an environment variable the run sets from profiles.yml, so no secret is written). The suites
are date-free (each query is a suite parameter the run fills in for the date), so the layer's suites,
validation definitions (one per table) and checkpoint are written there from the code only when that
code changed. A run runs the checkpoint, stores one row per check in meta.dq_results and renders
self-contained HTML Data Docs under reports/data_docs/ (no CDN); GX keeps its own validation results in
memory only (great_expectations.yml), so nothing accumulates under ge/gx/uncommitted/. Nothing here
imports GX at module import time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import importlib.util
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .project import ConfigError, profile, root
from .reason_codes import ReasonCode

LAYERS = ("ldz", "rdv", "ifl", "360", "publish", "ml")
# the module under ge/suites/ that holds each layer's checks
SUITE_MODULES = {"ldz": "ldz", "rdv": "rdv", "ifl": "ifl", "360": "c360", "publish": "publish", "ml": "ml"}
DEFAULT_MAX_FAILING_ROWS = 20
PASS, FAIL, ERROR = "PASS", "FAIL", "ERROR"


class LayerNotBuilt(ConfigError):
    """The layer has no suite yet, or its tables are not in this warehouse (exit code 2)."""


@dataclass(frozen=True)
class Check:
    """One check: the rows `sql` returns are failures. `table` (schema.table) is the GX batch."""

    name: str
    table: str
    reason: ReasonCode
    sql: str
    description: str

    def render(self, day: dt.date, batch: str | None = None) -> str:
        """The query for a date; `{batch}` stays for GX unless a table name is given (plain SQL)."""
        sql = self.sql.replace(":business_date", f"cast('{day.isoformat()}' as date)")
        return sql.replace("{batch}", batch) if batch else sql


@dataclass(frozen=True)
class Suite:
    layer: str
    requires: tuple[str, ...]
    checks: tuple[Check, ...]

    @property
    def tables(self) -> list[str]:
        return sorted({c.table for c in self.checks})


@dataclass
class CheckResult:
    layer: str
    check: str
    table: str
    reason_code: str
    status: str
    observed: int | None
    expected: int = 0
    failing_rows: list[dict] = field(default_factory=list)
    description: str = ""
    sql: str = ""
    error: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "sql"}


@dataclass
class ValidationRun:
    run_id: str
    target: str
    business_date: dt.date
    layers: list[str]
    results: list[CheckResult] = field(default_factory=list)
    not_built: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    data_docs: str | None = None

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == ERROR]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "target": self.target, "business_date": self.business_date.isoformat(),
                "layers": self.layers, "ok": self.ok, "not_built": self.not_built, "seconds": self.seconds,
                "data_docs": self.data_docs, "checks": [r.as_dict() for r in self.results]}


# --- suites ----------------------------------------------------------------------------------------

def suites_dir() -> Path:
    return root() / "ge" / "suites"


def load_suite(layer: str) -> Suite:
    """The layer's checks from ge/suites/<module>.py (LayerNotBuilt when that layer has no suite yet)."""
    if layer not in SUITE_MODULES:
        raise ConfigError(f"unknown layer {layer!r}; choose from {', '.join(LAYERS)}")
    path = suites_dir() / f"{SUITE_MODULES[layer]}.py"
    if not path.exists():
        raise LayerNotBuilt(
            f"layer {layer!r} is not built yet: its models have not landed, so it has no suite "
            f"({path.relative_to(root())} does not exist)")
    spec = importlib.util.spec_from_file_location(f"cdm_ge_suite_{SUITE_MODULES[layer]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = tuple(module.checks())
    names = [c.name for c in checks]
    if len(names) != len(set(names)):
        raise ConfigError(f"{path}: check names must be unique")
    return Suite(layer, tuple(module.REQUIRES), checks)


def missing_tables(wh, suite: Suite) -> list[str]:
    return [t for t in suite.requires if not wh.table_exists(*t.split("."))]


def default_business_date(wh) -> dt.date:
    """The latest business date landed in LDZ (meta.ldz_files), until date control exists."""
    day = wh.scalar("select max(business_date) from meta.ldz_files") if wh.table_exists("meta", "ldz_files") else None
    if day is None:
        raise ConfigError("no business date has been loaded (meta.ldz_files is empty); pass --date")
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))


# --- GX --------------------------------------------------------------------------------------------

def gx_root() -> Path:
    """The folder holding GX's file context (ge/gx/). DQ_GX_DIR overrides it (e.g. a read-only checkout)."""
    return Path(os.environ.get("DQ_GX_DIR") or root() / "ge")


def sqlalchemy_url(target: str) -> str:
    """The SQLAlchemy URL of a dbt target's warehouse (from the rendered profile)."""
    from sqlalchemy.engine import URL

    s = profile(target)
    if s["type"] == "duckdb":
        return f"duckdb:///{s['path']}"
    if s["type"] == "postgres":
        return URL.create("postgresql+psycopg2", username=s["user"], password=s.get("password") or None,
                          host=s["host"], port=int(s["port"]), database=s["dbname"]).render_as_string(
                              hide_password=False)
    if s["type"] == "snowflake":  # snowflake-sqlalchemy passes the query parameters on to the connector
        query = {"warehouse": s["warehouse"], "role": s["role"]}
        if s.get("host"):  # an explicit endpoint (e.g. an emulator server); else derived from the account
            query |= {k: str(s[k]) for k in ("host", "port", "protocol") if s.get(k)}
        return URL.create("snowflake", username=s["user"], password=s.get("password") or None,
                          host=s["account"], database=f"{s['database']}/{s['schema']}",
                          query=query).render_as_string(hide_password=False)
    raise ConfigError(f"dq validate does not support target {target!r} ({s['type']})")


def _url_env_var(target: str) -> str:
    return f"CDM_GX_URL_{target.upper()}"


_CONTEXTS: dict[tuple[str, str], object] = {}


def _context(gx, target: str):
    """The file context, with the target's datasource (its URL only as ${CDM_GX_URL_<TARGET>}).

    Loaded once per process and warehouse: reading the context parses great_expectations.yml (~0.3 s),
    which would otherwise be paid again by every layer of `--layer all`."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    url = sqlalchemy_url(target)
    os.environ[_url_env_var(target)] = url
    key = (str(gx_root()), url)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = gx.get_context(mode="file", project_root_dir=key[0])
        bars = ctx.variables.progress_bars
        if (bars.get("globally") if isinstance(bars, dict) else getattr(bars, "globally", None)) is not False:
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            ctx.variables.save()
        _CONTEXTS[key] = ctx
    try:
        ds = ctx.data_sources.get(target)
    except (KeyError, ValueError, LookupError):
        ds = ctx.data_sources.add_sql(name=target, connection_string="${" + _url_env_var(target) + "}")
    return ctx, ds


def _batch_definition(ds, table: str):
    schema, name = table.split(".")
    try:
        asset = ds.get_asset(table)
    except LookupError:
        asset = ds.add_table_asset(name=table, table_name=name, schema_name=schema)
    try:
        return asset.get_batch_definition("whole_table")
    except (KeyError, ValueError, LookupError):
        return asset.add_batch_definition_whole_table("whole_table")


def _close(ds) -> None:
    """Release the datasource's connections (DuckDB allows one writer per file). GX keeps one connection
    open for the dialects it persists connections for (DuckDB, through the shim) and its own close() leaves
    that one open: closed here first, else the file stays open in this process (dbt-duckdb could not open
    it with its own configuration afterwards) and DuckDB reports leaked objects at exit."""
    with contextlib.suppress(Exception):  # best effort: the engine may never have been created
        engine = ds.get_execution_engine()
        persisted = getattr(engine, "_connection", None)
        if persisted is not None:
            persisted.close()
            engine._connection = None
        engine.close()
    engine = getattr(ds, "_engine", None)
    if engine is not None:
        engine.dispose()


def _parameter(check: Check) -> str:
    """The GX suite parameter that carries a check's query for the date (letters, digits, `_` only)."""
    return "q_" + re.sub(r"\W", "_", check.name)


def _fingerprint(checks: list[Check]) -> str:
    """Everything a stored suite is written from; a change (new check, edited query) rewrites it."""
    spec = [(c.name, c.table, c.reason.value, c.sql, c.description) for c in checks]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


def _stored_checkpoint(ctx, name: str, wanted: dict[str, str]):
    """The stored checkpoint `name` if its validation definitions are exactly `wanted` (validation
    definition name -> suite fingerprint), else None (missing, or written from other code)."""
    try:
        checkpoint = ctx.checkpoints.get(name)
        stored = {vd.name: (vd.suite.meta or {}).get("fingerprint") for vd in checkpoint.validation_definitions}
    except Exception:  # not stored yet, or unreadable: written again
        return None
    return checkpoint if stored == wanted else None


def _checkpoint(gx, ctx, ds, target: str, suite: Suite):
    """The layer's checkpoint for a target. Its suites are date-free — each query is the suite parameter
    `_parameter(check)`, given for the date at run time — so they are written only when the code in
    ge/suites/ changed (or the file context is new), not on every run. Validation definitions and the
    checkpoint are per target (their batches belong to the target's datasource); suites are shared."""
    name = f"cdm_{target}_{suite.layer}"
    count_only_expectation(gx)  # registers the expectation class the stored suites name
    by_table = {t: [c for c in suite.checks if c.table == t] for t in suite.tables}
    wanted = {f"{target}.{suite.layer}.{t}": _fingerprint(checks) for t, checks in by_table.items()}
    checkpoint = _stored_checkpoint(ctx, name, wanted)
    if checkpoint is not None:
        return checkpoint
    vds = []
    for table, checks in by_table.items():
        expectations = [count_only_expectation(gx)(
            unexpected_rows_query={"$PARAMETER": _parameter(c)}, description=c.description,
            meta={"check": c.name, "reason_code": c.reason.value, "query": c.sql})
            for c in checks]
        vd_name = f"{target}.{suite.layer}.{table}"
        gx_suite = ctx.suites.add_or_update(gx.ExpectationSuite(  # written once, with all its expectations
            name=f"{suite.layer}.{table}", expectations=expectations,
            meta={"layer": suite.layer, "table": table, "fingerprint": wanted[vd_name]}))
        vds.append(ctx.validation_definitions.add_or_update(gx.ValidationDefinition(
            name=vd_name, data=_batch_definition(ds, table), suite=gx_suite)))
    return ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=vds, result_format={"result_format": "SUMMARY"}))


def run_gx_checkpoint(target: str, suite: Suite, day: dt.date, max_rows: int) -> list[CheckResult]:
    """Run the layer's checkpoint (written into the file context first when the code changed) for a date."""
    from . import gx_shim

    gx = gx_shim.load()
    ctx, ds = _context(gx, target)
    parameters = {_parameter(c): c.render(day) for c in suite.checks}
    if len(parameters) != len(suite.checks):
        raise ConfigError(f"layer {suite.layer}: two check names map to one GX suite parameter")
    try:
        outcome = _checkpoint(gx, ctx, ds, target, suite).run(expectation_parameters=parameters)
    finally:
        _close(ds)
    by_name = {c.name: c for c in suite.checks}
    results: list[CheckResult] = []
    for vres in outcome.run_results.values():
        for er in vres.results:
            check = by_name[er.expectation_config.meta["check"]]
            res = CheckResult(suite.layer, check.name, check.table, check.reason.value, PASS, None,
                              description=check.description, sql=check.render(day))
            raised = _raised(er.exception_info)
            if raised:
                res.status, res.error = ERROR, raised
            else:
                res.observed = int(er.result.get("observed_value") or 0)
                res.status = PASS if er.success else FAIL
            results.append(res)
    failed = [r for r in results if r.status == FAIL]
    if failed and max_rows:
        _fetch_failing_rows(target, failed, {c.name: c for c in suite.checks}, day, max_rows)
    order = {c.name: i for i, c in enumerate(suite.checks)}
    return sorted(results, key=lambda r: order[r.check])


_COUNT_ONLY: type | None = None


def count_only_expectation(gx) -> type:
    """GX's UnexpectedRowsExpectation resolves two metrics per check — the unexpected rows (up to 200)
    and their count — so every check query runs twice, even on clean data. This subclass depends on
    the count alone: one query per check. The failing rows of a failed check are read afterwards
    (`_fetch_failing_rows`), for failed checks only."""
    global _COUNT_ONLY
    if _COUNT_ONLY is None:
        from typing import ClassVar

        class UnexpectedRowCountExpectation(gx.expectations.UnexpectedRowsExpectation):
            metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

            def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
                count = metrics["unexpected_rows_query.row_count"]
                return {"success": count == 0, "result": {"observed_value": count}}

        _COUNT_ONLY = UnexpectedRowCountExpectation
    return _COUNT_ONLY


def _fetch_failing_rows(target: str, failed: list[CheckResult], checks: dict[str, Check], day: dt.date,
                        max_rows: int) -> None:
    """Up to `max_rows` failing rows of each failed check, read with the check's own query."""
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        for res in failed:
            columns, rows = wh.query_with_columns(
                f"select * from ({checks[res.check].render(day, batch=res.table)}) as failing limit {int(max_rows)}")
            res.failing_rows = [{k: _plain(v) for k, v in zip(columns, r, strict=True)} for r in rows]


def _raised(info: dict | None) -> str | None:
    """The exception message of an expectation result, if one was raised. GX reports it either at the top
    of exception_info or per metric (a dict of metric id -> {raised_exception, exception_message})."""
    if not info:
        return None
    if info.get("raised_exception"):
        return _without_statement(str(info.get("exception_message")))
    for v in info.values():
        if isinstance(v, dict) and v.get("raised_exception"):
            return _without_statement(str(v.get("exception_message")))
    return None


def _without_statement(message: str) -> str:
    """The database's error without SQLAlchemy's echo of GX's wrapped statement (`[SQL: ...]`, often
    kilobytes) and its background link: the check's own query is reported next to it."""
    return re.split(r"\s*\[SQL: ", message, maxsplit=1)[0].strip()


def _plain(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


# --- the same checks as plain SQL (benchmark baseline, cross-check in tests) ----------------------

def run_plain_sql(wh, suite: Suite, day: dt.date) -> dict[str, int]:
    """Failing-row count of every check, each run directly as `select count(*) from (<query>)`."""
    return {c.name: int(wh.scalar(f"select count(*) from ({c.render(day, batch=c.table)}) as failing"))
            for c in suite.checks}


# --- results ---------------------------------------------------------------------------------------

DQ_RESULTS_DDL = """create table if not exists meta.dq_results (
    run_id varchar(64) not null,
    target varchar(32) not null,
    layer varchar(16) not null,
    business_date date not null,
    check_name varchar(200) not null,
    table_name varchar(200) not null,
    observed bigint,
    expected bigint not null,
    status varchar(8) not null,
    reason_code varchar(32) not null,
    failing_rows text,
    error text,
    checked_at timestamp not null
)"""


def store_results(wh, run: ValidationRun) -> None:
    """One row per check per run in meta.dq_results (created if missing)."""
    wh.execute("create schema if not exists meta")
    wh.execute(DQ_RESULTS_DDL)
    now = dt.datetime.now().replace(microsecond=0)
    p = ", ".join([wh.param] * 13)
    wh.executemany(f"insert into meta.dq_results values ({p})", [
        (run.run_id, run.target, r.layer, run.business_date, r.check, r.table, r.observed, r.expected, r.status,
         r.reason_code, json.dumps(r.failing_rows, default=str) if r.failing_rows else None, r.error, now)
        for r in run.results])


# --- Data Docs (self-contained HTML: inline CSS, no script, no external URL) ----------------------

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eee}
.PASS{color:#176b2c;font-weight:bold}.FAIL{color:#b00020;font-weight:bold}.ERROR{color:#8a5300;font-weight:bold}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;font-size:90%}details{margin:.3em 0}"""


def render_data_docs(run: ValidationRun, out_dir: Path | None = None) -> Path:
    """Write reports/data_docs/<run_id>.html and refresh index.html; return the run's page."""
    out_dir = out_dir or root() / "reports" / "data_docs"
    out_dir.mkdir(parents=True, exist_ok=True)
    e = html.escape
    rows = []
    for r in run.results:
        sample = ""
        if r.failing_rows:
            cols = list(r.failing_rows[0])
            sample = ("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>"
                      + "".join("<tr>" + "".join(f"<td>{e(str(row.get(c)))}</td>" for c in cols) + "</tr>"
                                for row in r.failing_rows) + "</table>")
        rows.append(
            f"<tr><td>{e(r.layer)}</td><td>{e(r.check)}<br><small>{e(r.description)}</small>"
            f"<details><summary>query</summary><pre>{e(r.sql)}</pre></details>{sample}"
            f"{'<pre>' + e(r.error) + '</pre>' if r.error else ''}</td><td>{e(r.table)}</td>"
            f"<td>{'' if r.observed is None else r.observed}</td><td>{r.expected}</td>"
            f"<td class=\"{r.status}\">{r.status}</td><td>{e(r.reason_code) if r.status != PASS else ''}</td></tr>")
    not_built = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in run.not_built.items())
    status = "PASS" if run.ok else ("ERROR" if run.errors else "FAIL")
    page = (
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>DQ {e(run.run_id)}</title>"
        f"<style>{_CSS}</style></head><body><h1>Data validation <span class=\"{status}\">{status}</span></h1>"
        f"<p>run {e(run.run_id)} · target {e(run.target)} · business date {run.business_date} · "
        f"layers {e(', '.join(run.layers))} · {len(run.results)} checks, {len(run.failed)} failed, "
        f"{len(run.errors)} errors</p>"
        + (f"<p>Not built yet:</p><ul>{not_built}</ul>" if not_built else "")
        + "<table><tr><th>layer</th><th>check</th><th>table</th><th>observed failing rows</th>"
        "<th>expected</th><th>status</th><th>reason code</th></tr>" + "".join(rows) + "</table>"
        "<p><a href=\"index.html\">all runs</a></p></body></html>")
    page_path = out_dir / f"{run.run_id}.html"
    page_path.write_text(page, encoding="utf-8")
    _render_index(out_dir)
    return page_path


def _render_index(out_dir: Path) -> None:
    pages = sorted((p for p in out_dir.glob("*.html") if p.name != "index.html"), reverse=True)
    items = "".join(f"<li><a href=\"{html.escape(p.name)}\">{html.escape(p.stem)}</a></li>" for p in pages[:200])
    (out_dir / "index.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>DQ runs</title><style>{_CSS}</style></head>"
        f"<body><h1>Data validation runs</h1><ul>{items}</ul></body></html>", encoding="utf-8")


# --- terminal output -------------------------------------------------------------------------------

def validation_table(run: ValidationRun) -> list:
    """Rich renderables: the checks table, then the failing rows of each failed check."""
    from rich.table import Table

    out: list = []
    t = Table(title=f"dq validate {', '.join(run.layers)} · {run.business_date} · target {run.target} "
                    f"· run {run.run_id}", title_justify="left")
    for col in ("layer", "check", "observed", "expected", "status", "reason code"):
        t.add_column(col, justify="right" if col in ("observed", "expected") else "left", overflow="fold")
    style = {PASS: "green", FAIL: "red", ERROR: "yellow"}
    for r in run.results:
        t.add_row(r.layer, r.check, "" if r.observed is None else f"{r.observed:,}", str(r.expected),
                  f"[{style[r.status]}]{r.status}[/]", r.reason_code if r.status != PASS else "")
    out.append(t)
    for r in run.failed + run.errors:
        if r.error:
            out.append(f"[yellow]{r.check}[/]: {r.error}")
        if r.failing_rows:
            rows = Table(title=f"{r.check} [{r.reason_code}]: first {len(r.failing_rows)} of {r.observed:,} "
                               "failing rows", title_justify="left")
            for col in r.failing_rows[0]:
                rows.add_column(col, overflow="fold")
            for row in r.failing_rows:
                rows.add_row(*("" if v is None else str(v) for v in row.values()))
            out.append(rows)
    for layer, why in run.not_built.items():
        out.append(f"[yellow]not built[/] {layer}: {why}")
    codes = sorted({r.reason_code for r in run.failed})
    summary = (f"{len(run.results)} checks: {len(run.results) - len(run.failed) - len(run.errors)} passed, "
               f"{len(run.failed)} failed, {len(run.errors)} errors"
               + (f" — reason codes {', '.join(codes)} (see `dq reason-codes`)" if codes else ""))
    out.append(summary)
    out.append(f"Stored in meta.dq_results (run_id {run.run_id}); Data Docs: {run.data_docs}")
    return out


# --- the command's work ----------------------------------------------------------------------------

def new_run_id(now: dt.datetime | None = None) -> str:
    """A validation's run id. The latest validation of a date is the greatest run id (plan, evidence): ids
    sort by time to the microsecond (ids of older releases, to the second, sort before a later one)."""
    return f"{now or dt.datetime.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"


def validate(target: str | None, layer: str, day: dt.date | None = None,
             max_failing_rows: int = DEFAULT_MAX_FAILING_ROWS, docs_dir: Path | None = None,
             progress: Callable[[str], None] | None = None) -> ValidationRun:
    """Run the checkpoint of one layer (or every layer in order for `all`), store and render the results.

    Raises LayerNotBuilt (exit 2) when a single requested layer has no suite or no tables; `all`
    records such layers in `not_built` and runs the others.
    """
    from .warehouse import Warehouse

    target = target or os.environ.get("DQ_TARGET", "dev")
    layers = list(LAYERS) if layer == "all" else [layer]
    run = ValidationRun(new_run_id(), target, day or dt.date.min, layers)
    suites: list[Suite] = []
    with Warehouse(target) as wh:
        run.business_date = day or default_business_date(wh)
        for name in layers:
            try:
                suite = load_suite(name)
                gone = missing_tables(wh, suite)
                if gone:
                    raise LayerNotBuilt(f"layer {name!r} is not built in this warehouse: missing "
                                        f"{', '.join(gone)} (run `dq build`)")
            except LayerNotBuilt as exc:
                if layer != "all":
                    raise
                run.not_built[name] = str(exc)
                continue
            suites.append(suite)
    if not suites:
        raise LayerNotBuilt("no layer is built yet: " + "; ".join(run.not_built.values()))
    for suite in suites:  # the warehouse is closed while GX reads it (DuckDB: one writer)
        t0 = time.perf_counter()
        if progress:
            progress(f"layer {suite.layer}: {len(suite.checks)} checks on {len(suite.tables)} tables")
        run.results += run_gx_checkpoint(target, suite, run.business_date, max_failing_rows)
        run.seconds[suite.layer] = round(time.perf_counter() - t0, 3)
    with Warehouse(target) as wh:
        store_results(wh, run)
    run.data_docs = str(render_data_docs(run, docs_dir))
    from .evidence import write_validation_evidence

    write_validation_evidence(run)  # reports/run_evidence/<run_id>.json (issue 6; docs/schemas/run_evidence...)
    return run
