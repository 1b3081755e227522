"""`dq smoke`: the post-deploy smoke test. Read-only: it changes nothing in the warehouse.

Checks, in order (each PASS / FAIL / SKIPPED with a detail):

1. `parse` — dbt parses the project (in-process, `dbt parse`);
2. `compile` — every node compiles against the target (`dbt compile`; introspective queries only);
3. `connection` — the warehouse answers `select 1`;
4. `publish_contracts` — every cdm_publish model of the contract yml (models/cdm_publish/
   _cdm_publish__models.yml, the contract dbt enforces) exists with every contract column and its type family;
4b. `release_compat` — against the latest complete release (`dq release snapshot`): every published relation
   it holds still exists with each of its columns and their types, and the deployed contract yml still has
   each of those columns (else the next build drops them, even right after a rollback). Added columns are
   fine; a column removed or retyped in a published version breaks its consumers (a new version, `_v2`, is
   the way). SKIPPED before the first release;
5. `date_control` — when meta.etl_date_control holds the target's current business date: it is not in the
   future, and landed (meta.ldz_files); SKIPPED (and said so) when the warehouse has no date set yet;
6. `publish_validation` — the GX publish checkpoint (ge/suites/publish.py: contract types, rows as of the
   date) passes for the current business date (date control, else the latest landed date). Its results are
   rendered as Data Docs under reports/data_docs/ but, unlike `dq validate`, not stored in meta.dq_results.

Any FAIL ⇒ SMOKE_FAILED (exit 1) naming the failing checks: the deploy is not healthy, decide on rollback
(runbooks/09-release-smoke.md). The warehouse unreachable ⇒ exit 2 (CONNECTIVITY: retry, not roll back).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field

import yaml

from .project import root
from .reason_codes import ReasonCode
from .warehouse import ConnectionFailed, Warehouse

PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"
CONTRACT_YML = ("models", "cdm_publish", "_cdm_publish__models.yml")

FAMILY = {"varchar": "text", "text": "text", "char": "text", "integer": "integer", "bigint": "integer",
          "int": "integer", "smallint": "integer", "double": "number", "numeric": "number", "decimal": "number",
          "real": "number", "float": "number", "date": "date", "timestamp": "timestamp", "boolean": "boolean"}


def actual_family(data_type: str, scale=None) -> str:
    """The type family of an information_schema data_type (DuckDB VARCHAR, DECIMAL(18,2), ...; PostgreSQL
    character varying, double precision, timestamp without time zone, ...; Snowflake TEXT, NUMBER with its
    numeric_scale: an integer type is NUMBER(38,0) there, FLOAT, TIMESTAMP_NTZ)."""
    t = data_type.lower()
    if "char" in t or t == "text":
        return "text"
    if t in ("integer", "bigint", "smallint", "int", "hugeint") or (t == "number" and scale == 0):
        return "integer"
    if t == "number":
        return "number"
    if t.startswith(("decimal", "numeric", "double")) or t in ("real", "float"):
        return "number"
    if t.startswith("timestamp"):
        return "timestamp"
    return t


@dataclass
class SmokeCheck:
    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class SmokeReport:
    target: str
    business_date: dt.date | None = None
    checks: list[SmokeCheck] = field(default_factory=list)
    data_docs: str | None = None
    connection_error: str | None = None
    run_id: str = ""
    started_at: dt.datetime | None = None
    evidence: str | None = None

    @property
    def failed(self) -> list[SmokeCheck]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def reason_code(self) -> str | None:
        if self.connection_error:
            return ReasonCode.CONNECTIVITY.value
        return None if self.ok else ReasonCode.SMOKE_FAILED.value

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "evidence": self.evidence, "target": self.target,
                "business_date": self.business_date.isoformat() if self.business_date else None,
                "ok": self.ok, "reason_code": self.reason_code, "failed_checks": [c.name for c in self.failed],
                "checks": [asdict(c) for c in self.checks], "data_docs": self.data_docs}


def contracts() -> dict[str, list[tuple[str, str]]]:
    """{relation: [(column, type family)]} of every cdm_publish model version in the contract yml."""
    spec = yaml.safe_load(root().joinpath(*CONTRACT_YML).read_text())
    out = {}
    for model in spec["models"]:
        for version in model.get("versions") or [{"v": None}]:
            alias = (version.get("config") or {}).get("alias") or model["name"]
            out[f"cdm_publish.{alias}"] = [
                (c["name"].lower(), FAMILY[c["data_type"].split("(")[0].split()[0].lower()])
                for c in model["columns"]]
    return out


def contract_problems(wh: Warehouse) -> list[str]:
    problems = []
    p = wh.param
    for relation, cols in contracts().items():
        schema, name = relation.split(".")
        actual = {r[0].lower(): actual_family(r[1], r[2]) for r in wh.query(  # lower(): Snowflake's upper case
            "select column_name, data_type, numeric_scale from information_schema.columns "
            f"where lower(table_schema) = {p} and lower(table_name) = {p}", [schema, name])}
        if not actual:
            problems.append(f"{relation} does not exist")
            continue
        missing = [c for c, _ in cols if c not in actual]
        wrong = [f"{c} is {actual[c]}, contract {f}" for c, f in cols if c in actual and actual[c] != f]
        if missing:
            problems.append(f"{relation} lacks contract column(s) {', '.join(missing)}")
        if wrong:
            problems.append(f"{relation}: {'; '.join(wrong)}")
    return problems


def release_compat_problems(wh: Warehouse) -> tuple[str, str]:
    """(status, detail): the published relations against the latest release's recorded columns."""
    from .release import PUBLISH, columns, latest_release, list_releases, relations, release_side

    rid = latest_release(wh)
    if rid is None:
        return SKIPPED, "no release yet (`dq release snapshot --tag <version>` before a deploy turns this on)"
    rel = next(r for r in list_releases(wh) if r["release_id"] == rid)
    released = release_side(wh, rel)
    live = set(relations(wh))
    contract = {relation: {c for c, _f in cols} for relation, cols in contracts().items()}
    problems = []
    for relation, cols in sorted(released.columns.items()):
        name = relation.split(".", 1)[1]
        dropped = [c for c, _t in cols if relation in contract and c not in contract[relation]]
        if dropped:  # the deployed code would drop them at its next build, even right after a rollback
            problems.append(f"{relation}: the deployed contract drops {', '.join(dropped)}")
        if name not in live:
            problems.append(f"{relation} is gone")
            continue
        now = dict(columns(wh, PUBLISH, name))
        lost = [c for c, _t in cols if c not in now]
        retyped = [f"{c} {t} -> {now[c]}" for c, t in cols if c in now and now[c] != t]
        if lost or retyped:
            problems.append(f"{relation}: " + "; ".join(filter(None, [
                f"lost {', '.join(lost)}" if lost else "", f"retyped {', '.join(retyped)}" if retyped else ""])))
    if problems:
        return FAIL, (f"breaking change against release {released.label}: {'; '.join(problems)}. A published "
                      "version keeps its columns: publish the change as a new version, or roll back (runbook 10)")
    return PASS, f"every column of release {released.label} is still published"


def date_control_problems(wh: Warehouse, target: str) -> tuple[str, str]:
    """(status, detail) of the date control sanity check."""
    from .health import date_control_current, latest_landed
    from .ldz import is_landed

    if not wh.table_exists("meta", "etl_date_control"):
        return SKIPPED, "no date control in this warehouse (meta.etl_date_control does not exist)"
    current = date_control_current(wh, target)
    if current is None:  # the table exists once any run has run; the calendar is in use only once a date is set
        return SKIPPED, (f"no current business date set for target {target} (runs name their dates; "
                         "`dq dates set D` turns this check on)")
    if current > dt.date.today():
        return FAIL, f"current business date {current} is in the future"
    if not is_landed(wh, current):
        return FAIL, f"current business date {current} has not been landed (no loaded file in meta.ldz_files)"
    last = latest_landed(wh)
    return PASS, f"current business date {current} (latest landed {last})"


def _timed(report: SmokeReport, name: str, fn) -> None:
    t0 = time.perf_counter()
    try:
        status, detail = fn()
    except ConnectionFailed:
        raise
    except Exception as exc:  # a smoke check that blows up is a failed check, named
        status, detail = FAIL, f"{type(exc).__name__}: {exc}"
    report.checks.append(SmokeCheck(name, status, detail, round(time.perf_counter() - t0, 2)))


def smoke(target: str | None, progress=None) -> SmokeReport:
    """Run every smoke check (continuing past failures so the report names all of them), then write the run
    evidence reports/run_evidence/<run_id>.json (job smoke; docs/schemas/run_evidence.schema.json)."""
    from .project import default_target

    report = SmokeReport(target or default_target(), run_id=f"smoke-{_new_id()}")
    report.started_at = dt.datetime.now().replace(microsecond=0)
    try:
        _smoke(report, progress)
    finally:
        report.evidence = str(write_evidence(report))
    return report


def _new_id() -> str:
    from .validate import new_run_id

    return new_run_id()


def write_evidence(report: SmokeReport):
    """The smoke's evidence file, in the run-evidence contract (dbt_project/evidence.py)."""
    from .evidence import _base, _write

    day = report.business_date or dt.date.today()
    failed = [c.name for c in report.failed]
    doc = _base(report.run_id, report.run_id, "smoke", report.target, day, day) | {
        "status": "success" if report.ok else "failed",
        "reason_code": report.reason_code,
        "run_reason": None,
        "started_at": report.started_at.isoformat(),
        "finished_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "registry": [], "models": [], "sources": [], "manifests": [], "retries": [], "abandoned": [],
        "dq_summary": {"ok": report.ok, "layers": {"smoke": {"run_id": report.run_id, "checks": {
            c.name: c.status for c in report.checks}}}, "failed_checks": failed,
            "details": {c.name: c.detail for c in report.checks}, "data_docs": report.data_docs},
        "downstream_decision": "unblock" if report.ok else "hold",
        "decision_reason": "every smoke check passed" if report.ok else
        ("the warehouse is unreachable: retry" if report.connection_error else
         f"SMOKE_FAILED: {', '.join(failed)} — decide on rollback (runbooks/09-release-smoke.md)"),
        "resume_command": None,
    }
    return _write(doc)


def _smoke(report: SmokeReport, progress) -> None:
    from . import dbt
    from .health import reference_date

    target = report.target
    say = progress or (lambda _m: None)

    def dbt_step(command: str):
        def step():
            outcome = dbt.run(dbt.build_argv(command, target=target, extra=["--quiet"]))
            if outcome.success:
                return PASS, f"dbt {command} ok ({len(outcome.nodes)} nodes)" if outcome.nodes else f"dbt {command} ok"
            bad = ", ".join(f"{n['name']}: {n['message']}" for n in outcome.failed_nodes[:3])
            return FAIL, f"dbt {command} failed: {bad or outcome.error}"
        return step

    say("dbt parse")
    _timed(report, "parse", dbt_step("parse"))
    say("dbt compile")
    _timed(report, "compile", dbt_step("compile"))
    say("connection, contracts, date control")
    try:
        wh = Warehouse(target)
    except ConnectionFailed as exc:
        report.connection_error = str(exc)
        report.checks.append(SmokeCheck("connection", FAIL, str(exc)))
        return
    with wh:
        _timed(report, "connection", lambda: (PASS, f"{wh.engine} answers") if wh.scalar("select 1") == 1
               else (FAIL, "select 1 did not return 1"))

        def contracts_step():
            problems = contract_problems(wh)
            return (FAIL, "; ".join(problems)) if problems else (PASS, f"{len(contracts())} models match")

        _timed(report, "publish_contracts", contracts_step)
        _timed(report, "release_compat", lambda: release_compat_problems(wh))
        _timed(report, "date_control", lambda: date_control_problems(wh, target))
        try:
            report.business_date, _ = reference_date(wh, target, None)
        except Exception as exc:
            report.checks.append(SmokeCheck("publish_validation", FAIL, f"no business date to validate: {exc}"))
            return
    say(f"publish validation for {report.business_date}")
    _timed(report, "publish_validation", lambda: _publish_validation(report))


def _publish_validation(report: SmokeReport) -> tuple[str, str]:
    """The GX publish checkpoint for the business date; results rendered, never stored in the warehouse."""
    from .validate import ValidationRun, load_suite, render_data_docs, run_gx_checkpoint

    with Warehouse(report.target) as wh:
        suite = load_suite("publish")
        missing = [t for t in suite.requires if not wh.table_exists(*t.split("."))]
    if missing:
        return FAIL, f"publish tables missing: {', '.join(missing)}"
    run = ValidationRun(report.run_id, report.target, report.business_date, ["publish"])
    run.results = run_gx_checkpoint(report.target, suite, report.business_date, 5)
    report.data_docs = str(render_data_docs(run))
    bad = run.failed + run.errors
    if bad:
        return FAIL, "; ".join(f"{r.check} {r.status} [{r.reason_code}]" + (f": {r.error}" if r.error else "")
                               for r in bad)
    return PASS, f"{len(run.results)} publish checks pass for {report.business_date}"
