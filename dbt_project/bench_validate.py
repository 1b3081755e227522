"""Validation benchmark behind `dq bench-validate`: GX checkpoints against the same checks as plain SQL.

For each engine: a generated extract is landed and built (every layer) into a fresh warehouse, then
for the last business date each built layer is validated two ways, alternating which goes first,
best of `repeat`:

- **GX**: `validate.run_gx_checkpoint` — file context, suites/validation definitions/checkpoint
  written from ge/suites/, the checkpoint run (each check = GX's unexpected-rows metrics), results
  parsed; GX already imported;
- **SQL**: the same queries, each run directly as `select count(*) from (<query>)` on one connection.

GX's import (+ the DuckDB shim) and the loading of its file context are timed separately in a fresh
interpreter, and added once to the total. Both sides must find the same failing-row counts. Target:
GX ÷ SQL ≤ 2 per layer (without the import; printed with it too).
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
import time
from pathlib import Path

from .bench import BenchError, Progress, _duckdb_version, _environ, extract, fresh_warehouse, machine, write_section
from .build import build
from .ldz import ingest
from .validate import LAYERS, LayerNotBuilt, load_suite, missing_tables, run_gx_checkpoint, run_plain_sql
from .warehouse import Warehouse

TARGET_RATIO = 2.0
BENCH_DB = "cdm_bench_validate"
SECTION = "## Validation: GX vs plain SQL"
TARGETS = {"duckdb": "dev", "postgres": "postgres"}


def gx_import_seconds() -> float:
    """GX's fixed cost per process, in a fresh interpreter: the import (+ the shim) and loading the file
    context (validate caches it for the process, so the timed checkpoints do not pay it again)."""
    code = ("import time; t = time.perf_counter(); from dbt_project import gx_shim, validate; gx = gx_shim.load(); "
            "gx.get_context(mode='file', project_root_dir=str(validate.gx_root())); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _land_and_build(target: str, src: Path, days: int, progress: Progress) -> dt.date:
    start = dt.date(2026, 1, 1)
    dates = [start + dt.timedelta(days=d) for d in range(days)]
    with Warehouse(target) as wh:
        for day in dates:
            res = ingest(wh, src, day)
            if not res.ok:
                raise BenchError(f"ingest of {day} was not clean: {res.reason_codes}")
            progress(f"{target}: landed {day}")
    outcome = build(target, dates[0], dates[-1])
    if not outcome.success:
        raise BenchError(f"build failed: {[n['name'] for n in outcome.failed_nodes] or outcome.error}")
    progress(f"{target}: built {dates[0]}..{dates[-1]}")
    with Warehouse(target) as wh:
        write_bench_scores(wh, dates[-1])
    return dates[-1]


def write_bench_scores(wh: Warehouse, day: dt.date) -> None:
    """The ml layer validates the scores written back for the date: give it one score per customer and
    model (ml.MODELS), as `dq ml score` would write, so it is measured at full size. The
    scores are synthesized set-based from the customer id (what is timed is the validation, not the
    model; training two models on 1M customers would add minutes and nothing to this comparison)."""
    from .ml import MODELS, ensure_ml_schema

    ensure_ml_schema(wh)
    models = " union all ".join(f"select '{name}' as model_name" for name in MODELS)
    wh.execute(f"delete from cdm_ingest.ml_customer_scores where business_date = {_date_sql(day)}")
    n = "cast(substr(customer_id, 2) as integer)"
    wh.execute(f"""insert into cdm_ingest.ml_customer_scores
        (customer_id, model_name, model_version, score, decile, scored_at, business_date)
        select customer_id, models.model_name, 'bench', ({n} % 997) / 997.0, 1 + {n} % 10,
               cast({_date_sql(day)} as timestamp), {_date_sql(day)}
        from rdv.h_customer
        cross join ({models}) as models
        where customer_id is not null and customer_id <> ''""")


def _date_sql(day: dt.date) -> str:
    return f"cast('{day.isoformat()}' as date)"


def measure_layers(target: str, day: dt.date, repeat: int, progress: Progress) -> list[dict]:
    """GX and plain-SQL seconds (best of `repeat`) of every built layer, for one date."""
    from . import gx_shim

    gx_shim.load()  # the import is timed on its own (gx_import_seconds)
    rows = []
    for layer in LAYERS:
        try:
            suite = load_suite(layer)
        except LayerNotBuilt:
            continue
        with Warehouse(target) as wh:
            if missing_tables(wh, suite):
                continue
        gx_runs, sql_runs = [], []
        gx_counts: dict[str, int] = {}
        sql_counts: dict[str, int] = {}
        for r in range(repeat):
            for side in (("gx", "sql") if r % 2 == 0 else ("sql", "gx")):
                t0 = time.perf_counter()
                if side == "gx":
                    gx_counts = {x.check: x.observed for x in run_gx_checkpoint(target, suite, day, 20)}
                    gx_runs.append(time.perf_counter() - t0)
                else:
                    with Warehouse(target) as wh:
                        sql_counts = run_plain_sql(wh, suite, day)
                    sql_runs.append(time.perf_counter() - t0)
            progress(f"{target} {layer} run {r + 1}/{repeat}: GX {gx_runs[-1]:.2f}s, SQL {sql_runs[-1]:.2f}s")
        if gx_counts != sql_counts:
            diff = {k: (gx_counts.get(k), sql_counts.get(k)) for k in sql_counts if gx_counts.get(k) != sql_counts[k]}
            raise BenchError(f"{target} {layer}: GX and plain SQL disagree: {diff}")
        gx_s, sql_s = min(gx_runs), min(sql_runs)
        rows.append({"layer": layer, "checks": len(suite.checks), "failing": sum(sql_counts.values()),
                     "gx_s": round(gx_s, 3), "sql_s": round(sql_s, 3), "ratio": round(gx_s / sql_s, 2),
                     "ok": gx_s / sql_s <= TARGET_RATIO})
    return rows


def run_engine(engine: str, env: dict[str, str], customers: int, days: int, repeat: int,
               progress: Progress) -> dict:
    target = TARGETS[engine]
    src = extract(customers, days, progress=progress)
    with _environ(env):
        day = _land_and_build(target, src, days, progress)
        layers = measure_layers(target, day, repeat, progress)
    return {"engine": engine, "customers": customers, "days": days, "date": day.isoformat(), "layers": layers}


def run(engines: tuple[str, ...], customers: int, days: int, repeat: int = 3,
        progress: Progress = lambda _m: None) -> dict:
    versions = {"python": platform.python_version(), "duckdb": _duckdb_version()}
    import_s = gx_import_seconds()
    progress(f"great_expectations import (+ shim) and file context: {import_s:.2f}s")
    results = []
    for engine in engines:
        with fresh_warehouse(engine, BENCH_DB, versions) as env:
            results.append(run_engine(engine, env, customers, days, repeat, progress))
    for r in results:
        gx_total = sum(x["gx_s"] for x in r["layers"])
        sql_total = sum(x["sql_s"] for x in r["layers"])
        r["total"] = {"gx_s": round(gx_total, 3), "sql_s": round(sql_total, 3),
                      "ratio": round(gx_total / sql_total, 2),
                      "ratio_with_import": round((gx_total + import_s) / sql_total, 2)}
        for x in r["layers"]:
            x["ratio_with_import"] = round((x["gx_s"] + import_s) / x["sql_s"], 2)
    ok = all(x["ok"] for r in results for x in r["layers"])
    return {"results": results, "gx_import_s": round(import_s, 2), "target_ratio": TARGET_RATIO, "ok": ok,
            "repeat": repeat, "engines": list(engines), "customers": customers, "days": days,
            "machine": machine(versions), "measured_at": dt.datetime.now().replace(microsecond=0).isoformat()}


COLUMNS = ("engine", "customers × days", "layer", "checks", "SQL s", "GX s", "GX ÷ SQL", "GX+import ÷ SQL")


def table_cells(result: dict) -> list[list[str]]:
    out = []
    for r in result["results"]:
        size = f"{r['customers']:,} × {r['days']}"
        for x in r["layers"]:
            out.append([r["engine"], size, x["layer"], str(x["checks"]), f"{x['sql_s']:.2f}", f"{x['gx_s']:.2f}",
                        f"{x['ratio']:.2f} {'✓' if x['ok'] else '✗'}", f"{x['ratio_with_import']:.2f}"])
        t = r["total"]
        out.append([r["engine"], size, "all", str(sum(x["checks"] for x in r["layers"])), f"{t['sql_s']:.2f}",
                    f"{t['gx_s']:.2f}", f"{t['ratio']:.2f}", f"{t['ratio_with_import']:.2f}"])
    return out


def markdown(result: dict) -> str:
    table = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * 5) + "|"]
    table += ["| " + " | ".join(cells) + " |" for cells in table_cells(result)]
    m = result["machine"]
    command = (f"dq bench-validate --record --customers {result['customers']} --days {result['days']} "
               f"--repeat {result['repeat']} --engines {','.join(result['engines'])}")
    return f"""{SECTION}

Command: `make bench` runs `dq bench-validate --record`; this table: `{command}`.

What is compared, for the last business date of a generated extract landed and built through every
layer: each built layer's checks (ge/suites/) run as its Great Expectations checkpoint (file context,
suites written from code, checkpoint run, results parsed) against the same queries run directly as
`select count(*) from (<query>)` on one connection. Both sides must agree on every failing-row count.
GX's import (+ the DuckDB shim) and file-context load, {result['gx_import_s']:.2f}s in a fresh interpreter, is
added once to the GX side in the last column. Target: GX ÷ SQL ≤ {result['target_ratio']} per layer. Best of
{result['repeat']} runs per side, alternating which goes first.

Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, {m['os']}.
Versions: Python {m['python']}, DuckDB {m['duckdb']}, PostgreSQL {m.get('postgres', '(not run)')}.
Measured {result['measured_at']}.

{chr(10).join(table)}
"""


def record(result: dict, path: Path | None = None) -> Path:
    return write_section(SECTION, markdown(result), path)
