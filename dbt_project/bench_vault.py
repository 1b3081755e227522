"""Raw Data Vault benchmark: three ratios, each measured side by side in one run.

1. **RDV ÷ floor** — one day's load (`dbt run --select staging rdv` for that date, in-process) against
   the floor: the *same* compiled SQL in its first-build form (no look-ups of existing rows), run as
   plain `CREATE TABLE AS` statements over the same LDZ rows, staging first (the hashing), then every
   vault table from the staged rows — no dbt, no history. Target ≤ 1.5 on DuckDB.
2. **day N ÷ day 2** — the last day's load against the second day's, with N-1 days of history in the
   vault: cost must follow the day's rows, not the history. Target ≤ 1.3.
3. **range ÷ singles** — ten dates in one invocation against the same ten dates one invocation each,
   from the same starting state (copies of the warehouse). Target ≤ 0.4. Singles are measured two
   ways: the way `dq build` runs them (the date in meta.load_window: dbt's partial parse is reused)
   and with the date passed as `--vars` (each new value forces dbt to re-parse the project).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from . import dbt, pgcluster
from .bench import BenchError, _duckdb_version, _environ, extract, fresh_warehouse, machine, write_section
from .build import build
from .ldz import ingest
from .warehouse import Warehouse

TARGETS = {"rdv_floor": 1.5, "day_n_vs_day_2": 1.3, "range_vs_singles": 0.4, "range_vs_vars_singles": 0.4}
RANGE_DAYS = 10
SELECT = ("staging", "rdv")
FLOOR_SCHEMA = "bench_floor"
BENCH_DB = "cdm_bench_vault"
SECTION = "## Raw Data Vault loads"

Progress = Callable[[str], None]


def _day(start: dt.date, d: int) -> dt.date:
    return start + dt.timedelta(days=d - 1)


def _timed_load(target: str, first: dt.date, last: dt.date) -> float:
    t0 = time.perf_counter()
    outcome = build(target, first, last, select=SELECT, command="run")
    elapsed = time.perf_counter() - t0
    if not outcome.success:
        failed = [(n["name"], n["message"]) for n in outcome.failed_nodes]
        raise BenchError(f"vault load {first}..{last} failed: {failed or outcome.error}")
    return elapsed


def _timed_vars_load(target: str, day: dt.date) -> float:
    """One date passed as --vars (what a plain `dbt run --vars` per date costs: a re-parse each)."""
    t0 = time.perf_counter()
    outcome = dbt.run(dbt.build_argv("run", select=SELECT, target=target, extra=["--quiet"],
                                     vars={"load_from": day.isoformat(), "load_to": day.isoformat()}))
    elapsed = time.perf_counter() - t0
    if not outcome.success:
        raise BenchError(f"vault load {day} with --vars failed: {outcome.error}")
    return elapsed


def _floor(target: str) -> tuple[float, int]:
    """Time the first-build SQL of every staging and vault model as plain CTAS (no dbt at run time)."""
    compiled = dbt.run(dbt.build_argv("compile", select=SELECT, target=target, extra=["--full-refresh", "--quiet"]))
    if not compiled.success:
        raise BenchError(f"compile failed: {compiled.error}")
    by_name = {n["name"]: n["compiled_code"] for n in compiled.nodes if n["resource_type"] == "model"}
    staging = sorted(n for n in by_name if n.startswith("stg_"))
    vault = sorted(n for n in by_name if not n.startswith("stg_"))
    rows = 0
    with Warehouse(target) as wh:
        wh.execute(f"DROP SCHEMA IF EXISTS {FLOOR_SCHEMA} CASCADE")
        wh.execute(f"CREATE SCHEMA {FLOOR_SCHEMA}")
        t0 = time.perf_counter()
        for name in staging + vault:  # staging first: the vault SQL reads the freshly staged rows
            wh.execute(f"CREATE TABLE {FLOOR_SCHEMA}.{name} AS {by_name[name]}")
        elapsed = time.perf_counter() - t0
        for name in vault:
            rows += int(wh.scalar(f"SELECT count(*) FROM {FLOOR_SCHEMA}.{name}"))
        wh.execute(f"DROP SCHEMA {FLOOR_SCHEMA} CASCADE")
    return elapsed, rows


def _copy_warehouse(engine: str, env: dict[str, str], suffix: str) -> dict[str, str]:
    """A copy of the warehouse in its current state; returns the env that points at the copy."""
    if engine == "duckdb":
        src = Path(env["DQ_DUCKDB_PATH"])
        dst = src.with_name(f"{src.stem}_{suffix}.duckdb")
        shutil.copyfile(src, dst)
        return {**env, "DQ_DUCKDB_PATH": str(dst)}
    copy = f"{env['POSTGRES_DB']}_{suffix}"
    pgcluster.recreate_database(env, copy, template=env["POSTGRES_DB"])
    return {**env, "POSTGRES_DB": copy}


def run_engine(engine: str, env: dict[str, str], customers: int, days: int,
               progress: Progress = lambda _m: None) -> dict:
    """All three ratios on one engine. `env` points the engine's target at an EMPTY warehouse."""
    if days < RANGE_DAYS + 3:
        raise BenchError(f"the vault benchmark needs at least {RANGE_DAYS + 3} days")
    target = "dev" if engine == "duckdb" else "postgres"
    src = extract(customers, days, progress=progress)
    start = dt.date(2026, 1, 1)
    with _environ(env):
        with Warehouse(target) as wh:
            for d in range(1, days + 1):
                res = ingest(wh, src, _day(start, d))
                if not res.ok:
                    raise BenchError(f"ingest of day {d} was not clean: {res.reason_codes}")
                progress(f"{engine}: landed day {d}/{days}")
        dbt.run(dbt.build_argv("parse", target=target, extra=["--quiet"]))  # warm the parse cache
        _timed_load(target, _day(start, 1), _day(start, 1))
        day2 = _timed_load(target, _day(start, 2), _day(start, 2))
        progress(f"{engine}: day 2 loaded in {day2:.1f}s")
        first_range = days - RANGE_DAYS  # the range ends the day before the last day
        for d in range(3, first_range):
            _timed_load(target, _day(start, d), _day(start, d))
            progress(f"{engine}: vault day {d}")
        # The range and the --vars singles run on copies of this state, one copy at a time (at 1M x 13 on
        # PostgreSQL three databases at once filled the disk); each copy is dropped after its run.
        range_env = _copy_warehouse(engine, env, "range")
        os.sync()  # the copy is setup: its writeback must not land in the timed load
        with _environ(range_env):
            one_range = _timed_load(target, _day(start, first_range), _day(start, first_range + RANGE_DAYS - 1))
        _drop_copies(engine, [range_env])
        progress(f"{engine}: ten days in one invocation in {one_range:.1f}s")
        vars_env = _copy_warehouse(engine, env, "vars")
        os.sync()
        with _environ(vars_env):
            vars_singles = sum(_timed_vars_load(target, _day(start, d))
                               for d in range(first_range, first_range + RANGE_DAYS))
        _drop_copies(engine, [vars_env])
        progress(f"{engine}: the same ten days, one --vars invocation each, in {vars_singles:.1f}s")
        singles = 0.0
        for d in range(first_range, first_range + RANGE_DAYS):
            singles += _timed_load(target, _day(start, d), _day(start, d))
        progress(f"{engine}: the same ten days one invocation each in {singles:.1f}s")
        last = _timed_load(target, _day(start, days), _day(start, days))
        progress(f"{engine}: day {days} loaded in {last:.1f}s")
        floor, floor_rows = _floor(target)
        progress(f"{engine}: floor for day {days} {floor:.1f}s ({floor_rows:,} vault rows)")
    return {
        "engine": engine, "customers": customers, "days": days,
        "day_2_s": round(day2, 2), "day_n_s": round(last, 2), "floor_s": round(floor, 2),
        "singles_s": round(singles, 2), "range_s": round(one_range, 2),
        "rdv_floor": round(last / floor, 2),
        "day_n_vs_day_2": round(last / day2, 2),
        "range_vs_singles": round(one_range / singles, 2),
        "vars_singles_s": round(vars_singles, 2),
        "range_vs_vars_singles": round(one_range / vars_singles, 2),
    }


def _drop_copies(engine: str, envs: list[dict[str, str]]) -> None:
    for e in envs:
        if engine == "duckdb":
            Path(e["DQ_DUCKDB_PATH"]).unlink(missing_ok=True)
        else:
            pgcluster.drop_database(e, e["POSTGRES_DB"])


def run(engines: tuple[str, ...], customers: int, days: dict[str, int], progress: Progress = lambda _m: None) -> dict:
    """The three ratios on each engine (`days[engine]` business dates), each in a fresh warehouse that is
    removed afterwards."""
    results = []
    versions = {"python": platform.python_version(), "duckdb": _duckdb_version()}
    for engine in engines:
        with fresh_warehouse(engine, BENCH_DB, versions) as env:
            results.append(run_engine(engine, env, customers, days[engine], progress))
    ok = all(r[k] <= TARGETS[k] for r in results for k in TARGETS)
    return {"results": results, "targets": TARGETS, "ok": ok, "machine": machine(versions),
            "measured_at": dt.datetime.now().replace(microsecond=0).isoformat()}


COLUMNS = ("engine", "customers × days", "day 2 s", "day N s", "floor s", "RDV ÷ floor", "day N ÷ day 2",
           "10 singles s", "range s", "range ÷ singles", "10 --vars singles s", "range ÷ --vars singles")


def table_cells(result: dict) -> list[list[str]]:
    def mark(value: float, key: str) -> str:
        return f"{value:.2f} {'✓' if value <= TARGETS[key] else '✗'}"

    return [[r["engine"], f"{r['customers']:,} × {r['days']}", f"{r['day_2_s']:.1f}", f"{r['day_n_s']:.1f}",
             f"{r['floor_s']:.1f}", mark(r["rdv_floor"], "rdv_floor"), mark(r["day_n_vs_day_2"], "day_n_vs_day_2"),
             f"{r['singles_s']:.1f}", f"{r['range_s']:.1f}", mark(r["range_vs_singles"], "range_vs_singles"),
             f"{r['vars_singles_s']:.1f}", mark(r["range_vs_vars_singles"], "range_vs_vars_singles")]
            for r in result["results"]]


def markdown(result: dict) -> str:
    table = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(COLUMNS) - 2)) + "|"]
    table += ["| " + " | ".join(cells) + " |" for cells in table_cells(result)]
    m = result["machine"]
    return f"""{SECTION}

Command: `dq bench-vault --record` (part of `make bench`; `dq bench-vault --help` for the options).
Each engine loads a generated extract day by day into a fresh warehouse through `dq build`-style runs
(`dbt run --select staging rdv`, in-process), then measures, side by side in the same run:

- **RDV ÷ floor**: the last day's load against the floor — the same compiled SQL of every staging and
  vault model in its first-build form (no look-up of existing rows), run as plain `CREATE TABLE AS`
  over the same LDZ rows, without dbt. Target ≤ {TARGETS['rdv_floor']}.
- **day N ÷ day 2**: the last day's load (N-1 days of history) against the second day's. Target ≤
  {TARGETS['day_n_vs_day_2']}.
- **range ÷ singles**: ten dates in ONE invocation against the same ten dates one invocation each, from
  copies of the same warehouse. Singles run the way `dq build` does (date in meta.load_window, dbt's
  partial parse reused) and with the date as `--vars` (a re-parse per date). Target ≤ {TARGETS['range_vs_singles']}.

Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, {m['os']}.
Versions: Python {m['python']}, DuckDB {m['duckdb']}, PostgreSQL {m.get('postgres', '(not run)')}.
Measured {result['measured_at']}.

{chr(10).join(table)}
"""


def record(result: dict) -> Path:
    return write_section(SECTION, markdown(result))
