"""360 layer benchmark: what a day's refresh of the interface, 360 and publish layers costs as the
history grows, measured side by side in one run on one warehouse.

The extract is landed once; the vault and the upper layers are then built the way a service team runs
them (`dq build`-style windows, in-process dbt). At each checkpoint day the day's vault load and the
day's refresh of `ifl c360 cdm_publish` are timed separately, so the table shows the refresh against
the history it sits on (contacts in the vault) and against the vault load of the same day. At the last
day a full rebuild of the same layers (`--full-refresh`) is timed too: what the incremental interface
facts save.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from pathlib import Path

from . import dbt
from .bench import BenchError, Progress, _duckdb_version, _environ, extract, fresh_warehouse, machine, write_section
from .build import build
from .ldz import ingest
from .warehouse import Warehouse

VAULT = ("staging", "rdv")
UPPER = ("ifl", "c360", "cdm_publish")
BENCH_DB = "cdm_bench_360"
SECTION = "## 360 layer: day refresh against history"


def _timed(target: str, first: dt.date, last: dt.date, select: tuple[str, ...], full_refresh: bool = False,
           slowest: list | None = None) -> float:
    """Seconds of one `dq build`-style run; `slowest` receives its five slowest models (name, seconds)."""
    t0 = time.perf_counter()
    outcome = build(target, first, last, select=select, command="run", full_refresh=full_refresh)
    elapsed = time.perf_counter() - t0
    if not outcome.success:
        failed = [(n["name"], n["message"]) for n in outcome.failed_nodes]
        raise BenchError(f"{' '.join(select)} {first}..{last} failed: {failed or outcome.error}")
    if slowest is not None:
        slowest += [(n["name"], n["seconds"]) for n in sorted(outcome.nodes, key=lambda n: -n["seconds"])[:5]]
    return elapsed


def checkpoints(days: int) -> list[int]:
    """Day 2, a middle day and the last day (distinct, ascending)."""
    return sorted({2, max(2, days // 3), days})


def run_engine(engine: str, env: dict[str, str], customers: int, days: int,
               progress: Progress = lambda _m: None) -> dict:
    target = "dev" if engine == "duckdb" else "postgres"
    src = extract(customers, days, progress=progress)
    start = dt.date(2026, 1, 1)

    def day(d: int) -> dt.date:
        return start + dt.timedelta(days=d - 1)

    rows = []
    with _environ(env):
        with Warehouse(target) as wh:
            for d in range(1, days + 1):
                res = ingest(wh, src, day(d))
                if not res.ok:
                    raise BenchError(f"ingest of day {d} was not clean: {res.reason_codes}")
                progress(f"{engine}: landed day {d}/{days}")
        seeded = dbt.run(dbt.build_argv("seed", target=target, extra=["--quiet"]))
        if not seeded.success:
            raise BenchError(f"dbt seed failed: {seeded.error}")
        loaded = 1
        _timed(target, day(1), day(1), VAULT + UPPER)
        for c in checkpoints(days):
            if c - 1 > loaded:  # bring every layer up to the day before the checkpoint, in one window
                _timed(target, day(loaded + 1), day(c - 1), VAULT)
                _timed(target, day(loaded + 1), day(c - 1), UPPER)
                progress(f"{engine}: days {loaded + 1}..{c - 1} built")
            vault_s = _timed(target, day(c), day(c), VAULT)
            slowest: list = []
            upper_s = _timed(target, day(c), day(c), UPPER, slowest=slowest)
            loaded = c
            with Warehouse(target) as wh:
                contacts = int(wh.scalar("select count(*) from rdv.l_contact"))
                pairs = int(wh.scalar("select count(*) from c360.campaign_customer_state"))
            rows.append({"day": c, "history_contacts": contacts, "customer_pairs": pairs, "vault_s": round(vault_s, 2),
                         "refresh_s": round(upper_s, 2), "slowest_models": slowest})
            progress(f"{engine}: day {c}: vault {vault_s:.1f}s, ifl+c360+publish {upper_s:.1f}s "
                     f"({contacts:,} contacts in the vault)")
        full_s = _timed(target, day(days), day(days), UPPER, full_refresh=True)
        progress(f"{engine}: full rebuild of ifl+c360+publish at day {days}: {full_s:.1f}s")
    first, last = rows[0], rows[-1]
    return {
        "engine": engine, "customers": customers, "days": days, "checkpoints": rows,
        "full_rebuild_s": round(full_s, 2),
        "refresh_last_vs_day_2": round(last["refresh_s"] / first["refresh_s"], 2),
        "history_last_vs_day_2": round(last["history_contacts"] / first["history_contacts"], 2),
        "refresh_vs_vault_last": round(last["refresh_s"] / last["vault_s"], 2),
        "full_vs_refresh_last": round(full_s / last["refresh_s"], 2),
    }


def run(engines: tuple[str, ...], customers: int, days: int, progress: Progress = lambda _m: None) -> dict:
    """Each engine in a fresh warehouse that is removed afterwards."""
    if days < 3:
        raise BenchError("the 360 benchmark needs at least 3 days")
    results = []
    versions = {"python": platform.python_version(), "duckdb": _duckdb_version()}
    for engine in engines:
        with fresh_warehouse(engine, BENCH_DB, versions) as env:
            results.append(run_engine(engine, env, customers, days, progress))
    return {"results": results, "machine": machine(versions),
            "measured_at": dt.datetime.now().replace(microsecond=0).isoformat()}


COLUMNS = ("engine", "day", "contacts in vault", "customer pairs", "vault day s", "ifl+c360+publish day s",
           "refresh ÷ vault day", "slowest models of the refresh (s)")


def table_cells(result: dict) -> list[list[str]]:
    return [[r["engine"], str(c["day"]), f"{c['history_contacts']:,}", f"{c.get('customer_pairs', 0):,}",
             f"{c['vault_s']:.1f}",
             f"{c['refresh_s']:.1f}", f"{c['refresh_s'] / c['vault_s']:.2f}",
             ", ".join(f"{name} {secs:.1f}" for name, secs in c.get("slowest_models", [])[:3])]
            for r in result["results"] for c in r["checkpoints"]]


def summary_lines(result: dict) -> list[str]:
    return [f"{r['engine']}: at day {r['days']} the history is {r['history_last_vs_day_2']}× day 2's and the "
            f"day refresh costs {r['refresh_last_vs_day_2']}× day 2's; a full rebuild of the same layers takes "
            f"{r['full_rebuild_s']:.1f}s = {r['full_vs_refresh_last']}× the incremental refresh."
            for r in result["results"]]


def markdown(result: dict) -> str:
    table = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 2) + "---|"]
    table += ["| " + " | ".join(cells) + " |" for cells in table_cells(result)]
    m = result["machine"]
    sizes = ", ".join(sorted({f"{r['customers']:,} customers × {r['days']} days" for r in result["results"]}))
    return f"""{SECTION}

Command: `dq bench-360 --record` (part of `make bench`; `dq bench-360 --help`). {sizes}, one warehouse
per engine, built day by day the way `dq build` runs; at each checkpoint day the day's vault load
(`staging rdv`) and the day's refresh of `ifl c360 cdm_publish` are timed separately.
The interface facts (`ifl_contact`, `ifl_response`) are incremental — a day rewrites only the contacts
and responses its window touched; the 360 state tables (`models/c360/state/`) are refreshed from the
previous day's state plus the day's changes, and the three 360 tables are built from the state of the day.
Customer pairs: rows of `campaign_customer_state` (customer × flowchart and customer × campaign) after the
day — bounded by customers × flowcharts, not by days.

Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, {m['os']}.
Versions: Python {m['python']}, DuckDB {m['duckdb']}, PostgreSQL {m.get('postgres', '(not run)')}.
Measured {result['measured_at']}.

{chr(10).join(table)}

{chr(10).join('- ' + line for line in summary_lines(result))}
"""


def record(result: dict) -> Path:
    return write_section(SECTION, markdown(result))
