"""`dq run`, `dq rerun`, `dq backfill`: date-scoped loads through the layers, recorded in meta.etl_runs.

A run for one business date goes ingest → rdv → ifl → 360 → publish → ml. The dbt layers it covers run
in ONE dbt invocation (one parse; a select spanning the layers); ML is `dq ml score` then
`dbt build --select tag:ml+`. Every layer is one registry row (registry.py) with rows read/written,
timings and the reason code on failure; the run writes reports/run_evidence/<run_id>.json (evidence.py).

Concurrency: a lock per target and date (registry.DateLock). A second run of the date waits up to
`--wait` seconds for it, then stops with LOCK_TIMEOUT (exit 2).

Transient failures — the warehouse cannot be reached (CONNECTIVITY) or, on DuckDB, another process holds
the database file (LOCK_TIMEOUT) — are retried with exponential backoff and jitter:
`DQ_RETRY_ATTEMPTS` (default 4 attempts in all), `DQ_RETRY_BASE_SECONDS` (default 1), `DQ_RETRY_MAX_SECONDS`
(default 30). The n-th retry waits d/2 + uniform(0, d/2) with d = min(max, base * 2**(n-1)). Every other
failure fails fast.

Recovery: holding the date's lock proves no other process works on the date, so `running` rows of it
belong to a dead process; the next run/rerun marks them abandoned and reloads the date from its first
layer. Ingest replaces the date atomically and the vault is insert-only and idempotent (DESIGN.md §6), so
the result equals an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import os
import random
import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import registry
from .ldz import latest_loads_sql
from .project import ConfigError, default_target, root
from .reason_codes import ReasonCode
from .registry import LAYERS, DateLock, LockTimeout, Step
from .warehouse import ConnectionFailed, Warehouse

DBT_LAYERS = ("rdv", "ifl", "360", "publish")
SELECT = {  # the dbt selection of each layer (dbt_project.yml folders)
    "rdv": ("path:models/staging", "path:models/rdv", "path:models/meta"),
    "ifl": ("path:seeds", "path:models/ifl"),
    "360": ("path:models/c360",),
    "publish": ("path:models/cdm_publish",),
}
FOLDER_LAYER = {"staging": "rdv", "rdv": "rdv", "meta": "rdv", "ifl": "ifl", "c360": "360",
                "cdm_publish": "publish", "cdm_ingest": "ml"}
TRANSIENT_MARKERS = {  # text of a failure that is transient, and its reason code
    "could not set lock": ReasonCode.LOCK_TIMEOUT, "conflicting lock": ReasonCode.LOCK_TIMEOUT,
    "lock on file": ReasonCode.LOCK_TIMEOUT,
    "could not connect": ReasonCode.CONNECTIVITY, "connection refused": ReasonCode.CONNECTIVITY,
    "does not allow connections": ReasonCode.CONNECTIVITY, "server closed the connection": ReasonCode.CONNECTIVITY,
    "cannot connect": ReasonCode.CONNECTIVITY, "connection timed out": ReasonCode.CONNECTIVITY,
}


class Transient(RuntimeError):
    def __init__(self, reason: ReasonCode, message: str):
        super().__init__(message)
        self.reason = reason


def transient_reason(text: str | None) -> ReasonCode | None:
    low = (text or "").lower()
    return next((code for marker, code in TRANSIENT_MARKERS.items() if marker in low), None)


def source_flag(source: str | Path | None) -> str:
    """` --source DIR` for a printed command when the run was given its source folder explicitly (a
    command without it resolves DQ_SOURCE / data/extract again, as the run did)."""
    return f" --source {shlex.quote(str(source))}" if source else ""


def source_root(source: str | Path | None) -> Path:
    """--source, else $DQ_SOURCE (the --source option's environment variable), else data/extract under the repo
    root."""
    if os.environ.get("DQ_SOURCE_ROOT"):  # its former name: refused, never silently ignored
        raise ConfigError("DQ_SOURCE_ROOT is no longer read: the extract root is DQ_SOURCE (or --source). "
                          "Rename the variable and run again")
    if source:
        return Path(source)
    env = os.environ.get("DQ_SOURCE")
    return Path(env) if env else root() / "data" / "extract"


def layer_slice(from_layer: str | None, to_layer: str | None) -> list[str]:
    i = LAYERS.index(from_layer) if from_layer else 0
    j = LAYERS.index(to_layer) if to_layer else len(LAYERS) - 1
    if j < i:
        raise ConfigError(f"--to-layer {to_layer} comes before --from-layer {from_layer} "
                          f"(order: {' → '.join(LAYERS)})")
    return list(LAYERS[i:j + 1])


@dataclass
class RetryPolicy:
    attempts: int = 4
    base: float = 1.0
    cap: float = 30.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        try:
            return cls(int(os.environ.get("DQ_RETRY_ATTEMPTS", 4)), float(os.environ.get("DQ_RETRY_BASE_SECONDS", 1)),
                       float(os.environ.get("DQ_RETRY_MAX_SECONDS", 30)))
        except ValueError as exc:
            raise ConfigError(f"DQ_RETRY_* must be numbers: {exc}") from exc

    def delay(self, retry: int) -> float:
        d = min(self.cap, self.base * 2 ** (retry - 1))
        return d / 2 + random.uniform(0, d / 2)


# --- the run ----------------------------------------------------------------------------------------

@dataclass
class RunResult:
    run_id: str
    trace_id: str
    job: str
    target: str
    from_date: dt.date
    to_date: dt.date
    run_reason: str | None
    steps: list[Step] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    manifests: list[dict] = field(default_factory=list)
    retries: list[dict] = field(default_factory=list)
    abandoned: list[dict] = field(default_factory=list)
    resume_command: str | None = None
    evidence_path: str | None = None
    started_at: dt.datetime = field(default_factory=registry.now)
    finished_at: dt.datetime | None = None

    @property
    def final_steps(self) -> list[Step]:
        """Each layer's last attempt: an attempt that failed transiently and was retried is history, not the
        outcome."""
        last = {(s.layer, s.from_date, s.to_date): s for s in self.steps}  # appended in attempt order
        return [s for s in self.steps if last[(s.layer, s.from_date, s.to_date)] is s]

    @property
    def failed_step(self) -> Step | None:
        return next((s for s in self.final_steps if s.status == "failed"), None)

    @property
    def ok(self) -> bool:
        return self.failed_step is None

    @property
    def status(self) -> str:
        if not self.ok:
            return "failed"
        return "warning" if any(s.status == "warning" for s in self.final_steps) else "success"

    @property
    def reason_code(self) -> str | None:
        return self.failed_step.reason_code if self.failed_step else None

    @property
    def downstream_decision(self) -> tuple[str, str]:
        return registry.downstream_decision([(s.layer, s.status, s.reason_code, s.from_date)
                                             for s in self.final_steps])

    def as_dict(self) -> dict:
        decision, why = self.downstream_decision
        return {"run_id": self.run_id, "trace_id": self.trace_id, "job": self.job, "target": self.target,
                "from_date": self.from_date.isoformat(), "to_date": self.to_date.isoformat(),
                "status": self.status, "reason_code": self.reason_code, "run_reason": self.run_reason,
                "downstream_decision": decision, "decision_reason": why, "resume_command": self.resume_command,
                "evidence_path": self.evidence_path, "steps": [s.as_dict() for s in self.steps],
                "retries": self.retries, "abandoned": [_jsonable(a) for a in self.abandoned]}


def _jsonable(d: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in d.items()}


def new_run_id(job: str) -> str:
    return f"{job}-{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


class Runner:
    """Carries one run: its registry rows, retries, locks and evidence."""

    def __init__(self, job: str, target: str | None, from_date: dt.date, to_date: dt.date,
                 run_reason: str | None = None, policy: RetryPolicy | None = None,
                 progress: Callable[[str], None] | None = None):
        self.target = target or default_target()
        run_id = new_run_id(job)
        self.res = RunResult(run_id, os.environ.get("DQ_TRACE_ID") or run_id, job, self.target, from_date, to_date,
                             run_reason)
        self.policy = policy or RetryPolicy.from_env()
        self.progress = progress or (lambda _m: None)
        self.locks: list[DateLock] = []
        self.engine: str | None = None

    # --- retries ------------------------------------------------------------------------------------
    def retrying(self, what: str, fn):
        """Call fn; on a transient failure (ConnectionFailed) wait and call again, bounded. A Transient raised
        inside fn is a retry already given up (fn connects through `connect`, which retries): it is not
        retried again, so a warehouse that stays away costs the policy's attempts, not their square."""
        for attempt in range(1, self.policy.attempts + 1):
            try:
                return fn()
            except ConnectionFailed as exc:
                reason = transient_reason(str(exc)) or ReasonCode.CONNECTIVITY
                if attempt == self.policy.attempts:
                    raise Transient(reason, f"{what}: still failing after {attempt} attempts: {exc}") from exc
                wait = round(self.policy.delay(attempt), 3)
                self.res.retries.append({"what": what, "attempt": attempt, "reason_code": reason.value,
                                         "error": str(exc)[:500], "sleep_s": wait})
                self.progress(f"{what}: {reason.value} ({str(exc)[:120]}); retry {attempt} in {wait:.1f}s")
                time.sleep(wait)
        raise AssertionError("unreachable")

    def connect(self) -> Warehouse:
        wh = self.retrying("connect", lambda: Warehouse(self.target))
        self.engine = wh.engine
        return wh

    # --- locks --------------------------------------------------------------------------------------
    def lock(self, dates: list[dt.date], wait: float) -> None:
        from .project import profile

        engine = profile(self.target)["type"]
        deadline = time.monotonic() + max(0.0, wait)
        for day in dates:
            lock = DateLock(self.target, engine, day)
            told = False
            while not self.retrying(f"lock {day}", lock.try_acquire):
                if time.monotonic() >= deadline:
                    self.unlock()
                    raise LockTimeout(
                        f"another run holds {self.target} {day} (waited {wait:g}s). Wait for it (`dq runs --date "
                        f"{day}`), or pass --wait SECONDS")
                if not told:
                    self.progress(f"{day} is locked by another run; waiting up to {wait:g}s")
                    told = True
                time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
            self.locks.append(lock)

    def unlock(self) -> None:
        for lock in self.locks:
            lock.release()
        self.locks = []

    # --- registry -----------------------------------------------------------------------------------
    def start(self, layer: str, from_date: dt.date, to_date: dt.date | None = None, attempt: int = 1) -> Step:
        step = Step(self.res.job, self.res.run_id, self.res.trace_id, self.target, layer, from_date,
                    to_date or from_date, attempt, run_reason=self.res.run_reason)
        self.res.steps.append(step)
        return step

    def write(self, *steps: Step, insert: bool = False) -> None:
        def go():
            with self.connect() as wh:
                for s in steps:
                    (registry.insert_step if insert else registry.update_step)(wh, s)
        self.retrying("registry", go)

    def finish(self, step: Step, status: str, *, reason: str | None = None, err: str | None = None,
               rows_read: int | None = None, rows_written: int | None = None, seconds: float | None = None) -> None:
        step.status, step.reason_code, step.err_msg = status, reason, err
        step.rows_read, step.rows_written = rows_read, rows_written
        step.finished_at = step.heartbeat_at = registry.now()
        step.seconds = seconds if seconds is not None else (step.finished_at - step.started_at).total_seconds()


# --- steps ------------------------------------------------------------------------------------------

def _ingest_step(r: Runner, day: dt.date, src: Path) -> bool:
    from .ldz import ensure_schema, ingest

    step = r.start("ingest", day)
    r.write(step, insert=True)
    r.progress(f"{day} ingest from {src / day.isoformat()}")
    t0 = time.perf_counter()

    def go():
        with r.connect() as wh:
            ensure_schema(wh)
            return ingest(wh, src, day)
    res = r.retrying(f"ingest {day}", go)
    manifest = src / day.isoformat() / "_manifest.json"
    if manifest.exists():
        import hashlib

        r.res.manifests.append({"business_date": day.isoformat(), "path": str(manifest),
                                "sha256": hashlib.sha256(manifest.read_bytes()).hexdigest()})
    for t in res.tables:
        r.res.sources.append({"business_date": day.isoformat(), "table": t.table, "file": t.file,
                              "status": t.status, "reason_code": t.reason_code, "sha256": t.sha256,
                              "size_bytes": t.size_bytes, "rows_manifest": t.rows_manifest,
                              "rows_loaded": t.rows_loaded, "rows_rejected": t.rows_rejected})
    read = sum(t.rows_file for t in res.tables)
    written = sum(t.rows_loaded for t in res.tables)
    seconds = round(time.perf_counter() - t0, 3)
    if res.reason_code or res.failed:
        code = res.reason_code or res.failed[0].reason_code
        msg = res.message or "; ".join(f"{t.table}: {t.reason_code} {t.message}" for t in res.failed)
        r.finish(step, "failed", reason=code, err=msg[:2000], rows_read=read, rows_written=written, seconds=seconds)
    elif not res.ok:  # rows quarantined in ldz.ldz_rejects: the run goes on, the row says so
        rejected = sum(t.rows_rejected for t in res.tables)
        r.finish(step, "warning", reason=res.reason_codes[0],
                 err=f"{rejected} row(s) quarantined in ldz.ldz_rejects ({', '.join(res.reason_codes)})",
                 rows_read=read, rows_written=written, seconds=seconds)
    else:
        r.finish(step, "success", rows_read=read, rows_written=written, seconds=seconds)
    r.write(step)
    return step.status != "failed"


def node_layers() -> dict[str, str]:
    """unique_id → layer for every model, seed and test of the manifest dbt just wrote."""
    from .health import dbt_target_path

    path = dbt_target_path() / "manifest.json"
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text())
    nodes = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}
    memo: dict[str, str | None] = {}

    def layer_of(uid: str) -> str | None:
        if uid in memo:
            return memo[uid]
        memo[uid] = None
        n = nodes.get(uid)
        if n is None:
            return None
        if n["resource_type"] == "seed":
            out = "ifl"
        elif n["resource_type"] == "model":
            out = FOLDER_LAYER.get(n["fqn"][1] if len(n["fqn"]) > 2 else "", "rdv")
        else:
            parents = [layer_of(p) for p in n.get("depends_on", {}).get("nodes", [])]
            parents = [p for p in parents if p]
            out = max(parents, key=LAYERS.index) if parents else None
        memo[uid] = out
        return out

    return {uid: layer for uid in nodes if (layer := layer_of(uid))}


def _dbt_step(r: Runner, layers: list[str], from_date: dt.date, to_date: dt.date, select=None,
              rows_read: int | None = None) -> bool:
    """The dbt layers in one invocation, one registry row per layer; retried whole on a transient failure."""
    from .build import build

    select = list(select or [s for layer in layers for s in SELECT[layer]])
    attempt = 1
    while True:
        steps = [r.start(layer, from_date, to_date, attempt) for layer in layers]
        r.write(*steps, insert=True)
        r.progress(f"{from_date}..{to_date} dbt build {' '.join(layers)} (attempt {attempt})")
        t0 = time.perf_counter()
        outcome = r.retrying("dbt build", lambda: build(r.target, from_date, to_date, select, progress=r.progress))
        wall = round(time.perf_counter() - t0, 3)
        layer_of = node_layers()
        by_layer: dict[str, list[dict]] = {layer: [] for layer in layers}
        for n in outcome.nodes:
            lay = layer_of.get(n["unique_id"])
            by_layer.setdefault(lay if lay in by_layer else layers[-1], []).append(n)
            r.res.models.append({k: n.get(k) for k in ("unique_id", "name", "resource_type", "status", "reason_code",
                                                       "rows", "seconds", "failures")}
                                | {"layer": lay, "attempt": attempt, "message": (n.get("message") or "")[:1000]})
        failed_text = " ".join(filter(None, [outcome.error, *(n.get("message") or "" for n in outcome.failed_nodes)]))
        transient = None if outcome.success else transient_reason(failed_text)
        failed_seen = False
        for step in steps:
            nodes = by_layer.get(step.layer, [])
            models = [n for n in nodes if n["resource_type"] == "model"]
            counted = [n["rows"] for n in models if n["rows"] is not None and n["rows"] >= 0]
            written = sum(counted) if counted else None  # dbt-duckdb reports no row counts: unknown, not 0
            secs = round(sum(n["seconds"] for n in nodes), 3) or None
            bad = [n for n in nodes if n["status"] in ("error", "fail", "runtime error")]
            warn = [n for n in nodes if n["status"] == "warn"]
            if transient:
                r.finish(step, "failed", reason=transient.value, err=failed_text[:2000], seconds=wall)
            elif bad:
                failed_seen = True
                r.finish(step, "failed", reason=bad[0]["reason_code"] or ReasonCode.TRANSFORM_ERROR.value,
                         err="; ".join(f"{n['name']}: {(n.get('message') or n['status'])}" for n in bad)[:2000],
                         rows_written=written, seconds=secs)
            elif not outcome.success and (failed_seen or not nodes):
                r.finish(step, "skipped" if failed_seen else "failed",
                         reason=None if failed_seen else ReasonCode.TRANSFORM_ERROR.value,
                         err=(outcome.error or "an upstream layer failed")[:2000], rows_written=written, seconds=secs)
            elif warn:
                r.finish(step, "warning", reason=warn[0]["reason_code"],
                         err="; ".join(f"{n['name']}: {n['failures']} row(s)" for n in warn)[:2000],
                         rows_read=rows_read if step.layer == "rdv" else None, rows_written=written, seconds=secs)
            else:
                r.finish(step, "success", rows_read=rows_read if step.layer == "rdv" else None,
                         rows_written=written, seconds=secs)
        if not outcome.success and not any(s.status == "failed" for s in steps):
            steps[-1].status, steps[-1].reason_code = "failed", ReasonCode.TRANSFORM_ERROR.value
            steps[-1].err_msg = (outcome.error or "dbt failed")[:2000]
        r.write(*steps)
        if transient and attempt < r.policy.attempts:
            wait = round(r.policy.delay(attempt), 3)
            r.res.retries.append({"what": "dbt build", "attempt": attempt, "reason_code": transient.value,
                                  "error": failed_text[:500], "sleep_s": wait})
            r.progress(f"dbt build: {transient.value}; retry in {wait:.1f}s")
            time.sleep(wait)
            attempt += 1
            continue
        return outcome.success


def _ml_step(r: Runner, day: dt.date) -> bool:
    from . import ml
    from .build import build

    step = r.start("ml", day)
    r.write(step, insert=True)
    r.progress(f"{day} ml score, then dbt build tag:ml+")
    t0 = time.perf_counter()
    try:
        res = r.retrying("ml score", lambda: ml.score(r.target, day))
    except ml.MlDataError as exc:
        r.finish(step, "failed", reason=exc.reason.value, err=str(exc)[:2000],
                 seconds=round(time.perf_counter() - t0, 3))
        r.write(step)
        return False
    scored = sum(x.scored_rows for x in res.runs)
    outcome = r.retrying("dbt build tag:ml+", lambda: build(r.target, day, day, ["tag:ml+"], progress=r.progress))
    for n in outcome.nodes:
        r.res.models.append({k: n.get(k) for k in ("unique_id", "name", "resource_type", "status", "reason_code",
                                                   "rows", "seconds", "failures")}
                            | {"layer": "ml", "attempt": 1, "message": (n.get("message") or "")[:1000]})
    secs = round(time.perf_counter() - t0, 3)
    written = scored + sum(max(0, n["rows"] or 0) for n in outcome.nodes if n["resource_type"] == "model")
    if not outcome.success:
        bad = outcome.failed_nodes
        r.finish(step, "failed", reason=(bad[0]["reason_code"] if bad else None) or ReasonCode.TRANSFORM_ERROR.value,
                 err=("; ".join(f"{n['name']}: {n.get('message') or n['status']}" for n in bad)
                      or outcome.error or "dbt failed")[:2000], rows_read=scored, rows_written=written, seconds=secs)
    elif outcome.warned_nodes:
        w = outcome.warned_nodes
        r.finish(step, "warning", reason=w[0]["reason_code"], err="; ".join(f"{n['name']}: {n['failures']} row(s)"
                                                                              for n in w)[:2000],
                 rows_read=scored, rows_written=written, seconds=secs)
    else:
        r.finish(step, "success", rows_read=scored, rows_written=written, seconds=secs)
    r.write(step)
    return step.status != "failed"


def _skip(r: Runner, layers: list[str], from_date: dt.date, to_date: dt.date,
          why: str = "not run: an earlier step failed") -> None:
    steps = [r.start(layer, from_date, to_date) for layer in layers]
    for s in steps:
        r.finish(s, "skipped", err=why, seconds=0.0)
    if steps:
        r.write(*steps, insert=True)


def _built_as_of(r: Runner) -> dt.date | None:
    from .load_window import built_as_of

    def go():
        with r.connect() as wh:
            return built_as_of(wh)
    return r.retrying("as-of date", go)


def _landed_rows(r: Runner, from_date: dt.date, to_date: dt.date) -> int | None:
    def go():
        with r.connect() as wh:
            if not wh.table_exists("meta", "ldz_files"):
                return None
            p = wh.param
            return wh.scalar(
                f"select sum(rows_loaded) from meta.ldz_files f where business_date between {p} and {p} and "
                f"load_id in {latest_loads_sql()}",
                [from_date, to_date])
    v = r.retrying("landed rows", go)
    return int(v) if v is not None else None


def _landed_sources(r: Runner, day: dt.date) -> None:
    """Evidence for a rerun that does not ingest: the fingerprints of the files the date was landed from."""
    def go():
        with r.connect() as wh:
            if not wh.table_exists("meta", "ldz_files"):
                return []
            p = wh.param
            return wh.query(
                "select table_name, file_name, status, reason_code, sha256, size_bytes, rows_manifest, rows_loaded, "
                f"rows_rejected from meta.ldz_files where business_date = {p} and load_id in "
                f"{latest_loads_sql()} order by table_name", [day])
    for row in r.retrying("landed files", go):
        r.res.sources.append(dict(zip(("table", "file", "status", "reason_code", "sha256", "size_bytes",
                                       "rows_manifest", "rows_loaded", "rows_rejected"), row, strict=True))
                             | {"business_date": day.isoformat(), "landed": True})


def _prepare(r: Runner, dates: list[dt.date]) -> None:
    from .ldz import ensure_schema

    def go():
        with r.connect() as wh:
            ensure_schema(wh)
            registry.ensure_tables(wh)
            found = []
            for day in dates:
                found += registry.mark_abandoned(wh, r.target, day, r.res.run_id)
            return found
    r.res.abandoned = r.retrying("registry", go)
    for a in r.res.abandoned:
        r.progress(f"abandoned run {a['run_id']} ({a['layer']} {a['from_date']}, pid {a['pid']} on {a['host']}) "
                   "marked abandoned; this run reloads the date")


def _ml_lacks_data(step: Step | None) -> bool:
    """The ML step had too little data to train or score (ZERO_ROWS): escalated, never resumed (dq plan)."""
    return bool(step and step.layer == "ml" and step.reason_code == ReasonCode.ZERO_ROWS.value)


def _crashed(r: Runner, exc: BaseException) -> None:
    """An exception escaped a step: its row (still `running`) is closed as failed with the exception's code."""
    reason = getattr(exc, "reason", None)
    code = reason.value if isinstance(reason, ReasonCode) else ReasonCode.TRANSFORM_ERROR.value
    for s in r.res.steps:
        if s.status == "running":
            r.finish(s, "failed", reason=code, err=f"{type(exc).__name__}: {exc}"[:2000])
            # the warehouse is gone: the row stays `running` and the next run of the date marks it abandoned
            with contextlib.suppress(Transient):
                r.write(s)


def _close(r: Runner) -> None:
    from .evidence import write_run_evidence

    r.res.finished_at = registry.now()
    r.unlock()
    path = write_run_evidence(r)
    r.res.evidence_path = str(path)

    def go():
        with r.connect() as wh:
            wh.execute(f"update meta.etl_runs set evidence_path = {wh.param} where run_id = {wh.param}",
                       [str(path), r.res.run_id])
    r.retrying("registry", go)
    for s in r.res.steps:
        s.evidence_path = str(path)
    if not r.res.ok:
        _alert(r)


def _alert(r: Runner) -> None:
    """RUN_FAILED into meta.etl_alerts through dbt_project/alerts.py (the alerts module of issue 6)."""
    if importlib.util.find_spec("dbt_project.alerts") is None:
        return
    from . import alerts

    s = r.res.failed_step
    alerts.run_failed(r.target, r.res.run_id, s.from_date, s.reason_code, f"{r.res.job} {s.layer} {s.from_date}: "
                      f"{(s.err_msg or '')[:500]}", {"evidence": r.res.evidence_path, "job": r.res.job},
                      layer=s.layer)


def run_date(target: str | None, day: dt.date, source: str | Path | None = None, from_layer: str | None = None,
             to_layer: str | None = None, *, job: str = "run", run_reason: str | None = None, wait: float = 0.0,
             progress: Callable[[str], None] | None = None, policy: RetryPolicy | None = None) -> RunResult:
    """One business date through the requested layers (see the module docstring)."""
    layers = layer_slice(from_layer, to_layer)
    src = source_root(source)
    if "ingest" in layers and not src.is_dir():
        raise ConfigError(f"source folder {src} does not exist (--source, or set DQ_SOURCE)")
    if layers == ["ml"]:  # ML alone scores what is published: refuse a date it is not as of before anything runs
        from .ml import check_features_date

        with Warehouse(target) as wh:
            check_features_date(wh, day)
    r = Runner(job, target, day, day, run_reason, policy, progress)
    r.lock([day], wait)
    try:
        _prepare(r, [day])
        ok = True
        if "ingest" in layers:
            ok = _ingest_step(r, day, src)
        else:
            _landed_sources(r, day)
        dbt_layers = [x for x in layers if x in DBT_LAYERS]
        if dbt_layers:
            if ok:
                rows_read = _landed_rows(r, day, day) if "rdv" in dbt_layers else None
                ok = _dbt_step(r, dbt_layers, day, day, rows_read=rows_read)
            else:
                _skip(r, dbt_layers, day, day)
        if "ml" in layers:
            as_of = _built_as_of(r) if ok else None
            if not ok:
                ok = _skip(r, ["ml"], day, day) or False
            elif as_of and as_of > day:  # a past date: publish was rebuilt as of the later date (load_window.py)
                _skip(r, ["ml"], day, day, f"not run: the published tables are as of {as_of}, and scores are made "
                      f"for that date; to take {day}'s changes into the scores: dq ml score --date {as_of}, then "
                      f"dq build --from {as_of} --select tag:ml+")
            else:
                ok = _ml_step(r, day)
        if not r.res.ok and not _ml_lacks_data(r.res.failed_step):  # too little to train: a rerun finds the same
            s = r.res.failed_step
            r.res.resume_command = (f"dq rerun --date {day} --layer {s.layer}"
                                    + (f" --reason {s.reason_code}" if s.reason_code else "")
                                    + (f" --target {r.target}" if r.target != "dev" else "") + source_flag(source))
    except BaseException as exc:
        _crashed(r, exc)
        raise
    finally:
        _close(r)
    return r.res


# --- backfill ---------------------------------------------------------------------------------------

def date_range(d1: dt.date, d2: dt.date) -> list[dt.date]:
    if d2 < d1:
        raise ConfigError(f"--to {d2} is before --from {d1}")
    return [d1 + dt.timedelta(days=i) for i in range((d2 - d1).days + 1)]


def backfill_plan(target: str | None, d1: dt.date, d2: dt.date, source: str | Path | None = None) -> dict:
    """What a backfill would do — read-only: the source files present or missing with their fingerprints
    (each file hashed: its sha256 against the manifest's and the landed one), the rows the manifests
    promise, and what is already landed (meta.ldz_files)."""
    import hashlib

    from .contracts import CONTRACTS
    from .generator import sha256_file

    src = source_root(source)
    target = target or default_target()
    landed: dict[tuple[str, str], str] = {}
    with Warehouse(target) as wh:
        if wh.table_exists("meta", "ldz_files"):
            p = wh.param
            for day, table, sha in wh.query(
                    "select business_date, table_name, sha256 from meta.ldz_files f where business_date between "
                    f"{p} and {p} and load_id in {latest_loads_sql()}", [d1, d2]):
                landed[(str(day)[:10], table)] = sha
    dates = []
    for day in date_range(d1, d2):
        folder = src / day.isoformat()
        mpath = folder / "_manifest.json"
        entry: dict = {"business_date": day.isoformat(), "folder": str(folder), "manifest": mpath.exists(),
                       "manifest_sha256": None, "files": [], "expected_rows": 0, "problems": []}
        manifest_files = {}
        if mpath.exists():
            entry["manifest_sha256"] = hashlib.sha256(mpath.read_bytes()).hexdigest()
            try:
                manifest_files = {f["table"]: f for f in json.loads(mpath.read_text())["files"]}
            except (ValueError, KeyError, TypeError) as exc:
                entry["problems"].append(f"BAD_FORMAT: unreadable manifest ({exc})")
        else:
            entry["problems"].append(f"MISSING_FILE: no {mpath}")
        for table, c in CONTRACTS.items():
            m = manifest_files.get(table)
            path = folder / (m["file"] if m else c.file_name)
            present = path.exists()
            f = {"table": table, "file": path.name, "present": present, "required": not c.optional,
                 "size_bytes": path.stat().st_size if present else None,
                 "sha256": m.get("sha256") if m else None, "rows": m.get("rows") if m else None,
                 "file_sha256": sha256_file(path) if present else None,
                 "landed_sha256": landed.get((day.isoformat(), table))}
            corrupt = bool(f["sha256"] and f["file_sha256"] != f["sha256"])
            f["state"] = ("missing" if not present else "checksum_mismatch" if corrupt
                          else "new" if not f["landed_sha256"]
                          else "same" if f["landed_sha256"] == f["file_sha256"] else "changed")
            if not present and not c.optional and mpath.exists():
                entry["problems"].append(f"MISSING_FILE: {table} ({path.name})")
            if corrupt:
                entry["problems"].append(f"CHECKSUM_MISMATCH: {table} ({path.name}) is not the file its manifest "
                                         "describes: have it re-landed")
            entry["expected_rows"] += f["rows"] or 0
            entry["files"].append(f)
        entry["ok"] = not entry["problems"]
        dates.append(entry)
    return {"target": target, "from_date": d1.isoformat(), "to_date": d2.isoformat(), "source": str(src),
            "layers": ["ingest (per date)", "rdv ifl 360 publish (one dbt build for the range)"],
            "dates": dates, "expected_rows": sum(d["expected_rows"] for d in dates),
            "ok": all(d["ok"] for d in dates)}


def backfill(target: str | None, d1: dt.date, d2: dt.date, source: str | Path | None = None, *,
             run_reason: str = ReasonCode.OPERATOR_REQUEST.value, wait: float = 0.0,
             progress: Callable[[str], None] | None = None, policy: RetryPolicy | None = None) -> RunResult:
    """Ingest each date (one registry row per date), stop at the first failing one, then load the landed
    range set-based: ONE dbt build over [d1, last good date] (one parse), one row per layer for the range."""
    dates = date_range(d1, d2)
    src = source_root(source)
    if not src.is_dir():
        raise ConfigError(f"source folder {src} does not exist (--source, or set DQ_SOURCE)")
    r = Runner("backfill", target, d1, d2, run_reason, policy, progress)
    r.lock(dates, wait)
    suffix = (f" --target {r.target}" if r.target != "dev" else "") + source_flag(source)
    try:
        _prepare(r, dates)
        good: list[dt.date] = []
        for day in dates:
            if not _ingest_step(r, day, src):
                r.res.resume_command = f"dq backfill --from {day} --to {d2}{suffix}"
                break
            good.append(day)
        if good:
            rows_read = _landed_rows(r, good[0], good[-1])
            if not _dbt_step(r, list(DBT_LAYERS), good[0], good[-1], rows_read=rows_read):
                r.res.resume_command = f"dq backfill --from {good[0]} --to {d2}{suffix}"
    except BaseException as exc:
        _crashed(r, exc)
        raise
    finally:
        _close(r)
    return r.res
