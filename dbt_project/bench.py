"""LDZ ingest benchmark: `ldz.ingest` of one business date against the engine's own bare bulk load.

All sides read the same extract files (generated once at the requested size and cached under
data/bench/). The bare side is what the engine does with no contract at all: DuckDB `read_csv` into a
table with the contract's types, PostgreSQL `COPY` into such a table. The floor side is the bare load
plus the LDZ's lineage columns, still unchecked (see _bare). The ingest side is the real
`ldz.ingest` on an empty warehouse: whole-file checks (sha256, UTF-8, header), staging, set-based
classification, rejects and metadata, in one transaction. The ratio ingest ÷ bare (of elapsed times) is
what validation costs; the target is at most TARGET_RATIO.

Each side runs `repeat` times, each side going first in turn, and the best time counts.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from . import pgcluster
from .contracts import CONTRACTS
from .generator import generate
from .ldz import PG_ROW_NUMBER, SQL_TYPES, ingest
from .project import root
from .warehouse import Warehouse

TARGET_RATIO = 1.4
SEED = 7
DAYS_GENERATED = 2
ENGINES = ("duckdb", "postgres")
TARGETS = {"duckdb": "dev", "postgres": "postgres"}
BENCH_DB = "cdm_bench"
BARE_SCHEMA = "bench_bare"
SECTION = "## LDZ ingest vs bare bulk load"

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims (e.g. the ingest of the extract was not clean)."""


def extract(customers: int, days: int, seed: int = SEED, progress: Progress | None = None,
            data_dir: Path | None = None) -> Path:
    """The cached extract folder for these sizes (under `data_dir`, default data/bench/), generated on first
    use."""
    out = (data_dir or root() / "data" / "bench") / f"{customers}x{days}-seed{seed}"
    start = dt.date(2026, 1, 1)
    dates = [start + dt.timedelta(days=d) for d in range(days)]
    if not all((out / d.isoformat() / "_manifest.json").exists() for d in dates):
        if progress:
            progress(f"generating {customers:,} customers x {days} days into {out} (once; reused after)")
        generate(out, customers, days, seed, start)
    return out


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (Warehouse reads profiles.yml through them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return fh.readline().rstrip("\r\n").split(",")


# --- the two sides ------------------------------------------------------------------------------------
# Each opens a fresh warehouse (untimed) and returns (rows, seconds) of the load alone.

@contextmanager
def _fresh(engine: str, workdir: Path) -> Iterator[Warehouse]:
    """An empty warehouse: a new DuckDB file, or the bench database without the schemas we write."""
    with _environ({"DQ_DUCKDB_PATH": str(workdir / "bench.duckdb")}), Warehouse(TARGETS[engine]) as wh:
        if engine == "postgres":
            for schema in (BARE_SCHEMA, "ldz", "meta"):
                wh.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        yield wh
    for f in workdir.iterdir():
        f.unlink()


def _bare(engine: str, folder: Path, workdir: Path, lineage_of: dt.date | None = None) -> tuple[int, float]:
    """Each file into a table of its own with the contract's types, nothing else. With `lineage_of` (the
    floor side): plus the LDZ's five lineage columns for that date, still unchecked, the least any ingest
    that writes the LDZ's columns pays. DuckDB: constants only (its CSV reader gives no record number; the
    ingest numbers records through a text stage), so a lower bound; PostgreSQL: COPY into a table whose
    lineage columns are defaults, the record number an identity (as the ingest's text stage has)."""
    types = SQL_TYPES[engine]
    with _fresh(engine, workdir) as wh:
        t0 = time.perf_counter()
        wh.execute(f"CREATE SCHEMA {BARE_SCHEMA}")
        rows = 0
        for table, c in CONTRACTS.items():
            file = folder / c.file_name
            header = [c.column(h) for h in _header(file)]
            lineage = {} if lineage_of is None else {
                "_business_date": ("DATE", f"DATE '{lineage_of}'"), "_load_id": ("TEXT", "'bench'"),
                "_source_file": ("TEXT", f"'{file.name}'"), "_loaded_at": ("TIMESTAMP", "CAST(now() AS TIMESTAMP)")}
            if engine == "duckdb":
                cols = ", ".join(f"'{col.name}': '{types[col.type]}'" for col in header)
                extra = "".join(f", {v} AS {k}" for k, (_t, v) in lineage.items())
                extra += ", CAST(0 AS BIGINT) AS _row_number" if lineage else ""
                wh.execute(f"CREATE TABLE {BARE_SCHEMA}.{table} AS SELECT *{extra} FROM read_csv('{file}', "
                           f"header = true, auto_detect = false, columns = {{{cols}}})")
                rows += int(wh.scalar(f"SELECT count(*) FROM {BARE_SCHEMA}.{table}"))
            else:
                extra = "".join(f", {k} {t} NOT NULL DEFAULT {v}" for k, (t, v) in lineage.items())
                extra += f", _row_number {PG_ROW_NUMBER}" if lineage else ""
                wh.execute(f"CREATE TABLE {BARE_SCHEMA}.{table} "
                           f"({', '.join(f'{col.db_name} {types[col.type]}' for col in header)}{extra})")
                rows += wh.copy_csv(f"{BARE_SCHEMA}.{table}", [col.db_name for col in header], file)
        return rows, time.perf_counter() - t0


def _ingest(engine: str, source: Path, day: dt.date, workdir: Path) -> tuple[int, float]:
    with _fresh(engine, workdir) as wh:
        t0 = time.perf_counter()
        res = ingest(wh, source, day)
        elapsed = time.perf_counter() - t0
    if not res.ok:
        raise BenchError(f"the {engine} ingest of {day} was not clean ({', '.join(res.reason_codes)}): "
                         f"{res.message or [t.message for t in res.tables if t.message]}")
    return sum(t.rows_loaded for t in res.tables), elapsed


def _measure(engine: str, source: Path, day: dt.date, repeat: int, workdir: Path,
             progress: Progress | None) -> dict:
    folder = source / day.isoformat()
    sides: dict[str, Callable[[], tuple[int, float]]] = {
        "bare": lambda: _bare(engine, folder, workdir), "floor": lambda: _bare(engine, folder, workdir, lineage_of=day),
        "ingest": lambda: _ingest(engine, source, day, workdir)}
    runs: dict[str, list[float]] = {side: [] for side in sides}
    rows: dict[str, int] = {}
    for r in range(repeat):
        order = list(sides)[r % 3:] + list(sides)[:r % 3]  # each side goes first in turn
        for side in order:
            n, secs = sides[side]()
            rows[side] = n
            runs[side].append(secs)
            if progress:
                progress(f"{engine} {day} {side:<6} run {r + 1}/{repeat}: {n:,} rows in {secs:.2f}s")
    if len(set(rows.values())) > 1:
        raise BenchError(f"{engine} {day}: the sides loaded different row counts: {rows}")
    bare, floor, ing = min(runs["bare"]), min(runs["floor"]), min(runs["ingest"])
    return {"engine": engine, "date": day.isoformat(), "rows": rows["bare"],
            "bare_s": round(bare, 3), "floor_s": round(floor, 3), "ingest_s": round(ing, 3),
            "bare_rows_per_s": round(rows["bare"] / bare), "ingest_rows_per_s": round(rows["bare"] / ing),
            "floor_ratio": round(floor / bare, 3), "ratio": round(ing / bare, 3), "ok": ing / bare <= TARGET_RATIO,
            "runs": runs}


# --- the run ------------------------------------------------------------------------------------------

def run(customers: int = 1_000_000, days_to_time: int = 1, engines: tuple[str, ...] = ENGINES,
        repeat: int = 3, progress: Progress | None = None, data_dir: Path | None = None) -> dict:
    """Generate (or reuse) the extract, time bare load, floor and ingest per engine and date; the results."""
    source = extract(customers, max(DAYS_GENERATED, days_to_time), SEED, progress, data_dir)
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in range(days_to_time)]
    results: list[dict] = []
    versions = {"python": platform.python_version(), "duckdb": _duckdb_version()}
    workdir = Path(tempfile.mkdtemp(prefix="tmp-", dir=source.parent))  # on the extract's disk
    try:
        for engine in engines:
            with _postgres(versions) if engine == "postgres" else nullcontext():
                results += [_measure(engine, source, d, repeat, workdir, progress) for d in days]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"customers": customers, "days_to_time": days_to_time, "engines": list(engines), "repeat": repeat,
            "seed": SEED, "extract": str(source), "target_ratio": TARGET_RATIO,
            "ok": all(r["ok"] for r in results), "results": results, "machine": machine(versions),
            "measured_at": dt.datetime.now().isoformat(timespec="seconds")}


@contextmanager
def _postgres(versions: dict[str, str]) -> Iterator[None]:
    """The environment pointing at a server for the benchmark: pgcluster's (a throwaway cluster unless
    POSTGRES_HOST names a server), in database BENCH_DB, never the warehouse's; cleaned up after."""
    cluster = pgcluster.start(BENCH_DB)
    try:
        with _environ(cluster.env), Warehouse("postgres") as wh:
            versions["postgres"] = str(wh.scalar("SHOW server_version"))
            if not wh.scalar("SELECT count(*) FROM pg_database WHERE datname = %s", [BENCH_DB]):
                wh.execute(f"CREATE DATABASE {BENCH_DB}")
        with _environ({**cluster.env, "POSTGRES_DB": BENCH_DB}):
            yield
            with Warehouse("postgres") as wh:
                for schema in (BARE_SCHEMA, "ldz", "meta"):
                    wh.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        cluster.stop()


@contextmanager
def fresh_warehouse(engine: str, name: str, versions: dict[str, str]) -> Iterator[dict[str, str]]:
    """The environment of an EMPTY warehouse on `engine` for a benchmark, removed afterwards: a DuckDB
    file in a temporary folder, or database `name` on a throwaway PostgreSQL cluster (whose version is
    recorded in `versions`). Never the dev warehouse."""
    if engine == "duckdb":
        workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        try:
            yield {"DQ_DUCKDB_PATH": str(workdir / f"{name}.duckdb")}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    cluster = pgcluster.start(name)
    try:
        versions["postgres"] = pgcluster.recreate_database(cluster.env, name)
        yield {**cluster.env, "POSTGRES_DB": name}
    finally:
        cluster.stop()


def _duckdb_version() -> str:
    import duckdb

    return duckdb.__version__


def machine(versions: dict[str, str]) -> dict:
    """What the numbers were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    cpu = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    return {"cpus": len(os.sched_getaffinity(0)),
            "cpu_model": cpu.group(1).strip() if cpu else platform.processor(),
            "ram_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None, "os": platform.platform(),
            **versions}


# --- reporting ----------------------------------------------------------------------------------------

COLUMNS = ("engine", "date", "rows", "bare s", "bare rows/s", "floor s", "floor ÷ bare", "ingest s",
           "ingest rows/s", "ingest ÷ bare")


def table_cells(result: dict) -> list[list[str]]:
    """The result table as text cells (COLUMNS), one row per engine and date; rows/s in thousands."""
    return [[r["engine"], r["date"], f"{r['rows']:,}",
             f"{r['bare_s']:.2f}", f"{r['bare_rows_per_s'] / 1000:,.0f}k",
             f"{r['floor_s']:.2f}", f"{r['floor_ratio']:.2f}",
             f"{r['ingest_s']:.2f}", f"{r['ingest_rows_per_s'] / 1000:,.0f}k",
             f"{r['ratio']:.2f} {'✓' if r['ok'] else '✗'}"] for r in result["results"]]


def machine_line(result: dict) -> str:
    m = result["machine"]
    versions = ", ".join(f"{k} {m[k]}" for k in ("python", "duckdb", "postgres") if k in m)
    return f"{m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, {m['os']}; {versions}"


def markdown(result: dict) -> str:
    """The docs/benchmarks.md section for this result."""
    table = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 8) + "|"]
    table += ["| " + " | ".join(cells) + " |" for cells in table_cells(result)]
    m = result["machine"]
    target = result["target_ratio"]
    command = (f"dq bench --record --customers {result['customers']} --days-to-time {result['days_to_time']} "
               f"--repeat {result['repeat']} --engines {','.join(result['engines'])}")
    return f"""{SECTION}

Command: `make bench` (= `dq bench --record`; `dq bench --help` for the options). This table:
`{command}`. Rows/s are in thousands.

What is compared, on the same files: one business date of a generated extract ({result['customers']:,}
customers, seed {result['seed']}), all 11 tables.

- **bare**: the engine's own bulk load into fresh tables with the contract's column types, no checks:
  DuckDB `CREATE TABLE … AS SELECT * FROM read_csv(…)`, PostgreSQL `COPY … FROM STDIN (FORMAT csv)`.
- **floor**: the bare load plus the LDZ's five lineage columns (`_business_date`, `_load_id`,
  `_source_file`, `_row_number`, `_loaded_at`), still without any check: what any ingest that writes
  the LDZ's columns pays at least. DuckDB: constants only (its CSV reader gives no record number), so a
  lower bound; PostgreSQL: `COPY` into a table whose lineage columns are defaults and an identity.
  **floor ÷ bare** is the part of the 1.4 budget the lineage columns alone take.
- **ingest**: `ldz.ingest` into an empty warehouse: whole-file checks (sha256, UTF-8, header, row
  count), staging, set-based classification (NULL_KEY, BAD_VALUE, DUPLICATE_KEY), rejects, lineage
  columns and `meta.ldz_files`, replacing the date in one transaction. PostgreSQL, a clean file: the
  direct path, COPY into a new table with the lineage columns as defaults while Arrow checks the file
  in a thread, then attached as the date's partition.

The ratio is ingest time ÷ bare time; the target is ≤ {target} (validation, rejects and metadata cost
at most {round((target - 1) * 100)}%). Best of {result['repeat']} runs per side, each side going
first in turn. PostgreSQL is a throwaway local cluster (pgcluster: fsync off, shared_buffers 512MB) unless
POSTGRES_HOST names a server.

Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, {m['os']}.
Versions: Python {m['python']}, DuckDB {m['duckdb']}, PostgreSQL {m.get('postgres', '(not run)')}.
Measured {result['measured_at']}.

{chr(10).join(table)}
"""


def record(result: dict, path: Path | None = None) -> Path:
    """Write (or replace) this benchmark's section of docs/benchmarks.md."""
    return write_section(SECTION, markdown(result), path)


def write_section(title: str, section: str, path: Path | None = None) -> Path:
    """Replace the section headed `title` in docs/benchmarks.md (append it when absent)."""
    path = path or root() / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(title + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + len(title))
        text = text[:start] + section + (text[nxt:] if nxt >= 0 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
