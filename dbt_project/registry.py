"""The run registry (`meta.etl_runs`), the date control (`meta.etl_date_control`) and the locks.

One row of `meta.etl_runs` is one STEP of one run: a layer (ingest, rdv, ifl, 360, publish, ml) for a
business date (from_date = to_date) or, for the set-based part of a backfill, for a range. All the rows
of one `dq run` / `dq rerun` / `dq backfill` share its `run_id` (the evidence file is
`reports/run_evidence/<run_id>.json`); `trace_id` ties a run to its caller ($DQ_TRACE_ID, e.g. an
Airflow run id; else the run_id). `attempt` counts retries of a step after transient failures.

Statuses: running → success | warning (done, rows quarantined) | failed (reason_code says why) |
skipped (a previous step failed) | abandoned (the process died: detected by the next run of the date).

The lock is per target and business date and dies with its process, so a SIGKILLed run never blocks the
next one:
* DuckDB: an exclusive `flock` on `<warehouse file>.<date>.lock` beside the database file. DuckDB lets
  only ONE process open the file for writing, so the lock never lives in the database: a second run
  could not even read it while the first one's dbt holds the file. dq opens the database only for short
  moments (a registry write, the ingest) and never while dbt runs.
* PostgreSQL: a session advisory lock (pg_try_advisory_lock) on a connection held for the run.
* Snowflake has no session lock: a row of `meta.etl_date_locks` (target, date, host, pid). It is taken
  with a conditional MERGE (MERGE locks the table, so two takers serialize) and belongs to a dead process
  when that process was on this host and is gone: then the next run takes it over. A holder on another
  host cannot be probed: its row stays until that run ends, or an operator deletes it.
A `running` row whose date lock is free has no live owner: it is abandoned.

One more lock of the same kinds, `BuildLock` (the `0001-01-01` key; DuckDB `<warehouse file>.build.lock`), lets
one dbt build per warehouse run at a time: builds share the one-row meta.load_window.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
from dataclasses import dataclass
from functools import cache

from .project import duckdb_path, root
from .reason_codes import ReasonCode
from .warehouse import Warehouse

LAYERS = ("ingest", "rdv", "ifl", "360", "publish", "ml")
STATUSES = ("running", "success", "warning", "failed", "skipped", "abandoned")

RUN_COLUMNS = ("job", "run_id", "trace_id", "started_at", "finished_at", "status", "rows_read", "rows_written",
               "err_msg", "reason_code", "from_date", "to_date", "layer", "attempt", "host", "version_tag",
               "release_id", "target", "pid", "heartbeat_at", "seconds", "evidence_path", "run_reason")

RUNS_DDL = """create table if not exists meta.etl_runs (
    job varchar(32) not null,
    run_id varchar(64) not null,
    trace_id varchar(128) not null,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar(16) not null,
    rows_read bigint,
    rows_written bigint,
    err_msg text,
    reason_code varchar(32),
    from_date date not null,
    to_date date not null,
    layer varchar(16) not null,
    attempt integer not null,
    host varchar(255) not null,
    version_tag varchar(64) not null,
    release_id varchar(64),
    target varchar(32) not null,
    pid integer not null,
    heartbeat_at timestamp not null,
    seconds double precision,
    evidence_path text,
    run_reason varchar(32),
    primary key (run_id, layer, from_date, attempt)
)"""

DATE_CONTROL_DDL = """create table if not exists meta.etl_date_control (
    target varchar(32) not null primary key,
    current_business_date date not null,
    updated_at timestamp not null,
    updated_by varchar(255) not null
)"""


LOCKS_DDL = """create table if not exists meta.etl_date_locks (
    target varchar(32) not null,
    business_date date not null,
    host varchar(255) not null,
    pid integer not null,
    acquired_at timestamp not null,
    primary key (target, business_date)
)"""


def ensure_tables(wh: Warehouse) -> None:
    """meta.etl_runs and meta.etl_date_control (idempotent; every dq run/rerun/backfill calls it)."""
    wh.execute("create schema if not exists meta")
    wh.execute(RUNS_DDL)
    wh.execute(DATE_CONTROL_DDL)


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


@cache
def version_tag() -> str:
    """The git sha of the code running (short), or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root(), capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def release_id() -> str | None:
    """The deployed release ($DQ_RELEASE_ID, set by the deploy), or None."""
    return os.environ.get("DQ_RELEASE_ID") or None


def host() -> str:
    return socket.gethostname()


# --- rows ---------------------------------------------------------------------------------------------

@dataclass
class Step:
    """One registry row in memory (what the evidence file carries as well)."""

    job: str
    run_id: str
    trace_id: str
    target: str
    layer: str
    from_date: dt.date
    to_date: dt.date
    attempt: int = 1
    status: str = "running"
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    rows_read: int | None = None
    rows_written: int | None = None
    err_msg: str | None = None
    reason_code: str | None = None
    seconds: float | None = None
    evidence_path: str | None = None
    host: str = ""
    pid: int = 0
    version_tag: str = ""
    release_id: str | None = None
    heartbeat_at: dt.datetime | None = None
    run_reason: str | None = None  # why the run was started (rerun/backfill: OPERATOR_REQUEST or a code)

    def __post_init__(self):
        self.started_at = self.started_at or now()
        self.heartbeat_at = self.heartbeat_at or self.started_at
        self.host = self.host or host()
        self.pid = self.pid or os.getpid()
        self.version_tag = self.version_tag or version_tag()
        if self.release_id is None:
            self.release_id = release_id()

    def values(self) -> list:
        return [getattr(self, c) for c in RUN_COLUMNS]

    def as_dict(self) -> dict:
        d = {c: getattr(self, c) for c in RUN_COLUMNS}
        for k, v in d.items():
            if isinstance(v, dt.date | dt.datetime):
                d[k] = v.isoformat()
        return d


def insert_step(wh: Warehouse, step: Step) -> None:
    marks = ", ".join([wh.param] * len(RUN_COLUMNS))
    wh.execute(f"insert into meta.etl_runs ({', '.join(RUN_COLUMNS)}) values ({marks})", step.values())


def update_step(wh: Warehouse, step: Step) -> None:
    """Write a step's outcome (status, rows, reason, timings) over its row."""
    p = wh.param
    cols = ("status", "finished_at", "rows_read", "rows_written", "err_msg", "reason_code", "seconds",
            "heartbeat_at", "evidence_path")
    wh.execute(f"update meta.etl_runs set {', '.join(f'{c} = {p}' for c in cols)} "
               f"where run_id = {p} and layer = {p} and from_date = {p} and attempt = {p}",
               [getattr(step, c) for c in cols] + [step.run_id, step.layer, step.from_date, step.attempt])


def _row(cols: list[str], r: tuple) -> dict:
    d = dict(zip(cols, r, strict=True))
    for k in ("from_date", "to_date"):
        if d.get(k) is not None and not isinstance(d[k], dt.date):
            d[k] = dt.date.fromisoformat(str(d[k])[:10])
    return d


def list_runs(wh: Warehouse, last: int | None = 50, business_date: dt.date | None = None,
              run_id: str | None = None) -> list[dict]:
    """Registry rows of the `last` newest runs (every step of each; None: all), newest first (an empty list
    before the first run)."""
    if not wh.table_exists("meta", "etl_runs"):
        return []
    p, where, args = wh.param, [], []
    if business_date:
        where.append(f"{p} between from_date and to_date")
        args.append(business_date)
    if run_id:
        where.append(f"run_id = {p}")
        args.append(run_id)
    if last:
        where.append(f"run_id in (select run_id from meta.etl_runs{' where ' + ' and '.join(where) if where else ''}"
                     f" group by run_id order by max(started_at) desc, run_id desc limit {int(last)})")
        args += args
    sql = f"select {', '.join(RUN_COLUMNS)} from meta.etl_runs"
    if where:
        sql += " where " + " and ".join(where)
    # newest first; one run's steps started in the same second (started_at has whole seconds) by layer, then
    # date, both descending: a backfill lists publish … rdv, then its ingests from the last date back
    layer_order = " ".join(f"when '{layer}' then {i}" for i, layer in enumerate(LAYERS))
    sql += (f" order by started_at desc, run_id desc, case layer {layer_order} end desc, from_date desc, "
            "attempt desc")
    cols, rows = wh.query_with_columns(sql, args)
    return [_row(cols, r) for r in rows]


def latest_run_rows(wh: Warehouse, business_date: dt.date) -> list[dict]:
    """Every row of the latest run that touched the date (its steps in layer order)."""
    steps = list_runs(wh, last=1, business_date=business_date)
    order = {layer: i for i, layer in enumerate(LAYERS)}
    return sorted(steps, key=lambda r: (order.get(r["layer"].split("..")[0], 99), r["attempt"]))


def last_attempts(rows: list[dict]) -> list[dict]:
    """The rows that are their step's last attempt (a transient failure retried successfully is not the
    outcome), in the given order."""
    last = {}
    for r in rows:
        k = (r["layer"], r["from_date"], r["to_date"])
        if k not in last or r["attempt"] > last[k]["attempt"]:
            last[k] = r
    return [r for r in rows if last[(r["layer"], r["from_date"], r["to_date"])] is r]


def downstream_decision(steps: list[tuple[str, str, str | None, dt.date]]) -> tuple[str, str]:
    """unblock / hold for consumers, from a run's final steps as (layer, status, reason_code, from_date): hold
    while a step failed, was abandoned or still runs, and when nothing reached cdm_publish (the publish layer,
    or the ML layer, whose `tag:ml+` build rewrites the publish tables); else unblock. Quarantined
    rows (`warning`) do not hold: the good rows were published."""
    for layer, status, code, day in steps:
        if status in ("failed", "abandoned", "running"):
            return "hold", (f"{layer} {status}" + (f" with {code}" if code else "") + f" for {day}: consumers keep "
                            "the last good data")
    if not any(layer in ("publish", "ml") and status in ("success", "warning") for layer, status, _c, _d in steps):
        return "hold", "the run did not reach cdm_publish: nothing new to release"
    return "unblock", "every step succeeded through cdm_publish"


def mark_abandoned(wh: Warehouse, target: str, business_date: dt.date, by_run: str) -> list[dict]:
    """Call while holding the date's lock: every `running` row of the date belongs to a dead process.
    Marks them abandoned and returns them (as they were)."""
    p = wh.param
    cols, rows = wh.query_with_columns(
        f"select {', '.join(RUN_COLUMNS)} from meta.etl_runs where status = 'running' and target = {p} "
        f"and {p} between from_date and to_date and run_id <> {p}", [target, business_date, by_run])
    found = [_row(cols, r) for r in rows]
    for r in found:
        wh.execute(f"update meta.etl_runs set status = 'abandoned', finished_at = {p}, err_msg = {p} "
                   f"where run_id = {p} and layer = {p} and from_date = {p} and attempt = {p}",
                   [now(), f"abandoned: process {r['pid']} on {r['host']} died during this step "
                    f"(detected by run {by_run}); the date was reloaded by that run",
                    r["run_id"], r["layer"], r["from_date"], r["attempt"]])
    return found


# --- the date control -------------------------------------------------------------------------------

def current_date(wh: Warehouse, target: str) -> dt.date | None:
    if not wh.table_exists("meta", "etl_date_control"):
        return None
    v = wh.scalar(f"select current_business_date from meta.etl_date_control where target = {wh.param}", [target])
    return v if isinstance(v, dt.date) or v is None else dt.date.fromisoformat(str(v)[:10])


def set_current_date(wh: Warehouse, target: str, day: dt.date) -> None:
    """Set the environment's business date AND the load window to it, so a plain `dbt build` run
    afterwards loads that date (the models read meta.load_window at run time: one parse for all dates)."""
    from .ldz import ensure_schema
    from .load_window import set_window

    ensure_schema(wh)
    ensure_tables(wh)
    p = wh.param
    lock = BuildLock(wh.target, wh.engine)  # the window is the builds': a build reads it while it runs
    lock.acquire()
    try:
        with wh.transaction():
            wh.execute(f"delete from meta.etl_date_control where target = {p}", [target])
            wh.execute(f"insert into meta.etl_date_control values ({p}, {p}, {p}, {p})",
                       [target, day, now(), os.environ.get("USER", "unknown") + "@" + host()])
            set_window(wh, day, day)
    finally:
        lock.release()


def load_window(wh: Warehouse) -> tuple[dt.date, dt.date] | None:
    if not wh.table_exists("meta", "load_window"):
        return None
    rows = wh.query("select from_date, to_date from meta.load_window")
    return tuple(rows[0]) if rows else None


# --- the locks: per date, and one dbt build per target ------------------------------------------------

class LockTimeout(RuntimeError):
    """Another process holds a lock this one needs (exit 2, LOCK_TIMEOUT: retriable)."""

    reason = ReasonCode.LOCK_TIMEOUT


class DateLock:
    """An exclusive lock for (target, business date) that the OS / server releases when the process dies."""

    def __init__(self, target: str, engine: str, business_date: dt.date):
        self.target, self.engine, self.day = target, engine, business_date
        self._fd: int | None = None
        self._wh: Warehouse | None = None
        self._held_row = False  # Snowflake: this object holds the date's row in meta.etl_date_locks

    @property
    def path(self):
        return duckdb_path().parent / f"{duckdb_path().name}.{self.day.isoformat()}.lock"

    def try_acquire(self) -> bool:
        if self.engine == "duckdb":
            import fcntl

            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{host()} {os.getpid()}\n".encode())
            self._fd = fd
            return True
        if self.engine == "snowflake":
            return self._try_acquire_row()
        wh = Warehouse(self.target)
        if wh.scalar("select pg_try_advisory_lock(25713, %s)", [self.day.toordinal()]):
            self._wh = wh
            return True
        wh.close()
        return False

    def _try_acquire_row(self) -> bool:
        """Snowflake: take the date's row in meta.etl_date_locks, or take it over from a dead process of
        this host. Whoever holds the row after the MERGE owns the lock."""
        me = (host(), os.getpid())
        with Warehouse(self.target) as wh:
            wh.execute("create schema if not exists meta")
            wh.execute(LOCKS_DDL)
            key = [self.target, self.day]
            held = wh.query("select host, pid from meta.etl_date_locks where target = %s and business_date = %s", key)
            stale = held and held[0][0] == me[0] and not _alive(int(held[0][1])) and tuple(held[0]) != me
            wh.execute(
                "merge into meta.etl_date_locks l using (select %s as target, cast(%s as date) as business_date, "
                "%s as host, %s as pid, %s as acquired_at) n on l.target = n.target "
                "and l.business_date = n.business_date "
                "when matched and l.host = %s and l.pid = %s then update set host = n.host, pid = n.pid, "
                "acquired_at = n.acquired_at "
                "when not matched then insert (target, business_date, host, pid, acquired_at) "
                "values (n.target, n.business_date, n.host, n.pid, n.acquired_at)",
                [*key, *me, now(), *(held[0] if stale else ("", -1))])
            owner = wh.query("select host, pid from meta.etl_date_locks where target = %s and business_date = %s",
                             key)
        self._held_row = bool(owner) and tuple(owner[0]) == me and (not held or stale)
        return self._held_row

    def release(self) -> None:
        if self._held_row:
            with Warehouse(self.target) as wh:
                wh.execute("delete from meta.etl_date_locks where target = %s and business_date = %s and host = %s "
                           "and pid = %s", [self.target, self.day, host(), os.getpid()])
            self._held_row = False
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        if self._wh is not None:
            self._wh.close()  # ending the session drops the advisory lock
            self._wh = None

    def is_free(self) -> bool:
        """Probe without keeping the lock (for `dq plan` and `dq runs`)."""
        if self.try_acquire():
            self.release()
            return True
        return False

    def holder(self) -> str:
        """Who holds it, when the engine says (DuckDB: the lock file's `host pid`), else ''."""
        if self.engine != "duckdb":
            return ""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""


BUILD_LOCK_DAY = dt.date(1, 1, 1)  # the key of the target-wide build lock among the date locks


class BuildLock(DateLock):
    """One dbt build per target at a time. The load window (meta.load_window) is one row per warehouse, so
    two builds of different dates at once would each read the other's window. build.build() holds it while
    it sets the window and runs dbt; ldz.ingest and set_current_date (`dq dates set/advance`) while they move
    the window too. It is always the last lock a process takes (date locks first) and nothing is taken while
    it is held, so two processes never wait on each other."""

    def __init__(self, target: str, engine: str):
        super().__init__(target, engine, BUILD_LOCK_DAY)

    @property
    def path(self):
        return duckdb_path().parent / f"{duckdb_path().name}.build.lock"

    def acquire(self, wait: float | None = None, progress=None) -> None:
        """Take it, waiting up to `wait` seconds (default DQ_BUILD_WAIT_SECONDS, else 3600) for another build to
        finish, saying so through `progress` (default: stderr); else LockTimeout."""
        import sys
        import time

        wait = float(os.environ.get("DQ_BUILD_WAIT_SECONDS", "3600")) if wait is None else wait
        progress = progress or (lambda msg: print(msg, file=sys.stderr))
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        while not self.try_acquire():
            who = self.holder()
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another dbt build on {self.target} is running{f' ({who})' if who else ''}; waited {wait:g}s. "
                    "Builds of one warehouse run one at a time (they share meta.load_window): wait for it "
                    "(`dq runs`), then run this again")
            if not told:
                progress(f"another dbt build on {self.target} is running{f' ({who})' if who else ''}; "
                         f"waiting up to {wait:g}s (DQ_BUILD_WAIT_SECONDS)")
                told = True
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


def _alive(pid: int) -> bool:
    """Whether a process of this host is running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True
