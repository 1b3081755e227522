"""Raw Data Vault benchmark: three ratios, each measured side by side in one run.

1. **RDV ÷ floor** — one day's load (`dbt run --select staging rdv` for that date, in-process) against
   the floor: the *same* compiled SQL in its first-build form (no look-ups of existing rows), run as
   plain `CREATE TABLE AS` statements over the same LDZ rows, staging first (the hashing), then every
   vault table from the staged rows — no dbt, no history. Target ≤ 1.5 on DuckDB.
2. **day N ÷ day 2** — the last day's load against the second day's, with N-1 days of history in the
   vault: cost must follow the day's rows, not the history. Target ≤ 1.3.
3. **range ÷ singles** — ten dates in one invocation against the same ten dates one invocation each,
   from the same starting state (a copy of the warehouse). Target ≤ 0.4.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from . import dbt
from .bench import _environ, extract
from .build import build
from .ldz import ingest
from .warehouse import Warehouse

TARGETS = {"rdv_floor": 1.5, "day_n_vs_day_2": 1.3, "range_vs_singles": 0.4}
RANGE_DAYS = 10
SELECT = ("staging", "rdv")
FLOOR_SCHEMA = "bench_floor"

Progress = Callable[[str], None]


def _day(start: dt.date, d: int) -> dt.date:
    return start + dt.timedelta(days=d - 1)


def _timed_load(target: str, first: dt.date, last: dt.date) -> float:
    t0 = time.perf_counter()
    outcome = build(target, first, last, select=SELECT, command="run")
    elapsed = time.perf_counter() - t0
    if not outcome.success:
        failed = [(n["name"], n["message"]) for n in outcome.failed_nodes]
        raise RuntimeError(f"vault load {first}..{last} failed: {failed or outcome.error}")
    return elapsed


def _floor(target: str) -> tuple[float, int]:
    """Time the first-build SQL of every staging and vault model as plain CTAS (no dbt at run time)."""
    compiled = dbt.run(dbt.build_argv("compile", select=SELECT, target=target, extra=["--full-refresh", "--quiet"]))
    if not compiled.success:
        raise RuntimeError(f"compile failed: {compiled.error}")
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
    import psycopg2

    con = psycopg2.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                           password=env["POSTGRES_PASSWORD"] or None, dbname="postgres")
    con.autocommit = True
    copy = f"{env['POSTGRES_DB']}_{suffix}"
    with con.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        cur.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{env["POSTGRES_DB"]}"')
    con.close()
    return {**env, "POSTGRES_DB": copy}


def run_engine(engine: str, env: dict[str, str], customers: int, days: int,
               progress: Progress = lambda _m: None) -> dict:
    """All three ratios on one engine. `env` points the engine's target at an EMPTY warehouse."""
    if days < RANGE_DAYS + 3:
        raise ValueError(f"the vault benchmark needs at least {RANGE_DAYS + 3} days")
    target = "dev" if engine == "duckdb" else "postgres"
    src = extract(customers, days, progress=progress)
    start = dt.date(2026, 1, 1)
    with _environ(env):
        with Warehouse(target) as wh:
            for d in range(1, days + 1):
                res = ingest(wh, src, _day(start, d))
                if not res.ok:
                    raise RuntimeError(f"ingest of day {d} was not clean: {res.reason_codes}")
                progress(f"{engine}: landed day {d}/{days}")
        dbt.run(dbt.build_argv("parse", target=target, extra=["--quiet"]))  # warm the parse cache
        _timed_load(target, _day(start, 1), _day(start, 1))
        day2 = _timed_load(target, _day(start, 2), _day(start, 2))
        progress(f"{engine}: day 2 loaded in {day2:.1f}s")
        first_range = days - RANGE_DAYS  # the range ends the day before the last day
        for d in range(3, first_range):
            _timed_load(target, _day(start, d), _day(start, d))
            progress(f"{engine}: vault day {d}")
        range_env = _copy_warehouse(engine, env, "range")
        singles = 0.0
        for d in range(first_range, first_range + RANGE_DAYS):
            singles += _timed_load(target, _day(start, d), _day(start, d))
        progress(f"{engine}: ten single days in {singles:.1f}s")
        last = _timed_load(target, _day(start, days), _day(start, days))
        progress(f"{engine}: day {days} loaded in {last:.1f}s")
        floor, floor_rows = _floor(target)
        progress(f"{engine}: floor for day {days} {floor:.1f}s ({floor_rows:,} vault rows)")
    with _environ(range_env):
        one_range = _timed_load(target, _day(start, first_range), _day(start, first_range + RANGE_DAYS - 1))
        progress(f"{engine}: the same ten days in one invocation in {one_range:.1f}s")
    return {
        "engine": engine, "customers": customers, "days": days,
        "day_2_s": round(day2, 2), "day_n_s": round(last, 2), "floor_s": round(floor, 2),
        "singles_s": round(singles, 2), "range_s": round(one_range, 2),
        "rdv_floor": round(last / floor, 2),
        "day_n_vs_day_2": round(last / day2, 2),
        "range_vs_singles": round(one_range / singles, 2),
    }
