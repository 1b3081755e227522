"""`dq`: the operations CLI of the CDM warehouse. Commands are thin; the work lives in the modules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path

import click
from rich.table import Table

from . import params
from .errors import DATA_FAILURE, OK, USAGE, fail, handle_errors
from .generator import INJECTION_KINDS, generate
from .project import root
from .registry import LockTimeout

console = params.Output(stderr=False, highlight=False)
err_console = params.Output(stderr=True, highlight=False)

class _Dq(click.Group):
    """With --json anywhere on the command line, a usage error (a missing or bad option) also prints one JSON
    document on stdout, as every other failure does (errors.fail)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            click.echo(json.dumps({"ok": False, "exit_code": exc.exit_code, "reason_code": None,
                                   "error": exc.format_message()}, indent=2))
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Dq, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="cdm-warehouse")
def main() -> None:
    """Operate the CDM marketing warehouse: generate and land extracts, load layers, check them.

    \b
    Exit codes: 0 ok · 1 a data or check failure (the output names reason codes) ·
                2 usage, configuration or connection error.
    Targets come from profiles.yml at the repo root (dev = embedded DuckDB file, postgres, snowflake).
    """


# --- generate ---------------------------------------------------------------------------------------

@main.command("generate")
@click.option("--customers", type=click.IntRange(1), default=5000, show_default=True, help="Customers in the audience.")
@click.option("--days", type=click.IntRange(1), default=7, show_default=True, help="Business dates to extract.")
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed and sizes ⇒ byte-identical files.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write <YYYY-MM-DD>/ sub-folders into (existing dates are rewritten).")
@click.option("--start-date", type=params.DATE, default="2026-01-01", show_default=True, help="First business date.")
@click.option("--inject", "inject", multiple=True, metavar="KIND[:TABLE]",
              help="Damage the extract on purpose (repeatable): " + ", ".join(INJECTION_KINDS)
              + ". Each kind has a default table; append :TABLE to choose another. The restated_* kinds are "
              "source corrections, not damage: the injected date sends the previous date's contacts of one "
              "package with a new status, or some of its responses with corrected type and revenue, again "
              "(they need that previous date, with responses: day 3 or later; their table is fixed).")
@click.option("--inject-date", type=params.DATE, default=None, help="Date to inject into. Default: the last date.")
@params.json_output
@handle_errors
def generate_cmd(customers, days, seed, out, start_date, inject, inject_date, as_json):
    """Write a Marketing Data Mart extract (DESIGN.md §3): CSVs per date plus _manifest.json.

    Streams with bounded memory (1M customers x 30 days takes minutes on 2 cores). Injected damage is
    listed in <out>/_injections.json with the rows touched.
    """
    t0 = time.time()
    progress = None if as_json else (lambda msg: err_console.print(f"  generated {msg}"))
    res = generate(out, customers, days, seed, start_date, inject, inject_date, progress=progress)
    if as_json:
        click.echo(json.dumps({"out": str(res.out), "dates": res.dates, "rows": res.rows,
                               "injections": res.injections}, indent=2))
        return
    total = sum(sum(v.values()) for v in res.rows.values())
    console.print(f"[bold]{len(res.dates)} date(s), {total:,} rows[/] in {out} ({time.time() - t0:.1f}s)")
    for inj in res.injections:
        console.print(f"  injected {inj['kind']} into {inj['table']} on {inj['date']}"
                      + (f" rows {inj['rows']}" if inj.get("rows") else ""))


# --- ingest -----------------------------------------------------------------------------------------

def _ingest_table(res) -> Table:
    t = Table(title=f"LDZ ingest {res.business_date} (load {res.load_id})", title_justify="left")
    for col in ("table", "status", "reason", "rows", "loaded", "rejected", "message"):
        t.add_column(col, justify="right" if col in ("rows", "loaded", "rejected") else "left",
                     overflow="fold")
    for r in res.tables:
        style = {"LOADED": "green", "FAILED": "red", "SKIPPED": "yellow"}[r.status]
        if r.status == "LOADED" and r.rows_rejected:
            style = "yellow"
        t.add_row(r.table, f"[{style}]{r.status}[/]", r.reason_code or "", f"{r.rows_file:,}",
                  f"{r.rows_loaded:,}", f"{r.rows_rejected:,}", r.message)
    return t


def run_ingest(target, source_root: Path, day: dt.date, tables=None):
    from .ldz import ingest
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        return ingest(wh, source_root, day, tables)


@main.command("ingest")
@params.business_date
@params.source
@params.target
@click.option("--table", "tables", multiple=True, help="Only these tables (repeatable). Default: all.")
@params.json_output
@handle_errors
def ingest_cmd(business_date, source, target, tables, as_json):
    """Land one business date into LDZ (ldz.ldz_<table>), atomically replacing that date.

    Each file is checked against the contract (dbt_project/contracts.py). A file that fails whole
    (missing, empty, wrong delimiter or encoding, wrong columns, checksum, truncated) fails its table
    and loads nothing of it; bad rows go to ldz.ldz_rejects with a reason code and the good rows load.
    A table may be delivered as CSV or as Parquet with the same columns (the manifest names the file).
    Safe to rerun. Exit 1 when a table failed or a row was rejected; exit 2 (LOCK_TIMEOUT, nothing changed)
    while a run holds the date.
    """
    from .ops import source_root
    from .project import default_target, profile
    from .registry import DateLock

    target = target or default_target()
    lock = DateLock(target, profile(target)["type"], business_date)
    if not lock.try_acquire():  # a run of the date is building from its LDZ rows: replacing them now corrupts it
        who = lock.holder()
        raise LockTimeout(f"a run holds {target} {business_date}{f' ({who})' if who else ''}; ingesting now would "
                          f"replace the LDZ rows it is loading. Wait for it (`dq runs --date {business_date}`), "
                          "then ingest again")
    try:
        res = run_ingest(target, source_root(source), business_date, list(tables) or None)
    finally:
        lock.release()
    if as_json:
        click.echo(json.dumps(res.as_dict(), indent=2, default=str))
    elif res.reason_code:
        err_console.print(f"[red]{res.reason_code}[/]: {res.message}")
    else:
        console.print(_ingest_table(res))
        if not res.ok:
            rejected = sum(t.rows_rejected for t in res.tables)
            failed = ", ".join(f"{t.table} ({t.reason_code})" for t in res.failed)
            console.print((f"Failed tables (nothing of them loaded; each kept what it held): {failed}. " if failed
                           else "")
                          + (f"{rejected} rejected row(s): [bold]dq rejects --date {res.business_date}[/]. "
                             if rejected else "")
                          + f"Codes: {', '.join(res.reason_codes)} — see `dq reason-codes`, "
                          "runbooks/02-ldz-failure.md.")
    sys.exit(OK if res.ok else DATA_FAILURE)


@main.command("rejects")
@params.business_date
@params.target
@click.option("--table", default=None, help="Only this source table.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Rows to show.")
@params.json_output
@handle_errors
def rejects_cmd(business_date, target, table, limit, as_json):
    """Show the rows quarantined in ldz.ldz_rejects for a business date (with the raw source line)."""
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        if not wh.table_exists("ldz", "ldz_rejects"):
            rows = []
        else:
            p = wh.param
            sql = ("select table_name, source_file, row_number, reason_code, reason_detail, raw_line "
                   f"from ldz.ldz_rejects where business_date = {p}")
            args: list = [business_date]
            if table:
                sql += f" and table_name = {p}"
                args.append(table)
            rows = wh.query(sql + f" order by table_name, row_number limit {int(limit)}", args)
    cols = ("table", "file", "row", "reason", "detail", "raw_line")
    if as_json:
        click.echo(json.dumps([dict(zip(cols, r, strict=True)) for r in rows], indent=2, default=str))
        return
    t = Table(title=f"Quarantined rows {business_date} (first {limit})", title_justify="left")
    for col in cols:
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(*(str(v) for v in r))
    console.print(t if rows else f"No rejected rows for {business_date}.")


# --- build ------------------------------------------------------------------------------------------

@main.command("build")
@click.option("--from", "from_date", type=params.DATE, required=True, help="First business date to load.")
@click.option("--to", "to_date", type=params.DATE, default=None, help="Last business date. Default: --from.")
@click.option("--select", "-s", "select", multiple=True, help="dbt selection (repeatable). Default: everything.")
@click.option("--full-refresh", is_flag=True,
              help="Rebuild the SELECTED incremental models from all their inputs (dbt --full-refresh). With "
                   "--select ifl+ or c360+ that is the documented repair (runbook 05); on rdv models it drops the "
                   "vault's history: never without a restore plan.")
@params.target
@params.json_output
@handle_errors
def build_cmd(from_date, to_date, select, full_refresh, target, as_json):
    """Load a business date or a range through the dbt layers (staging, RDV, IFL, 360, publish) in ONE
    dbt build.

    Sets meta.load_window to the range, then runs `dbt build` once: one parse for the whole range, and
    the same vault as loading the dates one by one. Safe to rerun. Exit 1 when a model or test fails;
    warnings (e.g. NULL_KEY: a business key resolved to the ghost record) are listed but do not fail.
    Exit 2, changing nothing: the range ends on a date never landed (it would be published empty, for good),
    --select matches nothing, or another build of the warehouse ran past DQ_BUILD_WAIT_SECONDS (LOCK_TIMEOUT;
    builds take turns: they share meta.load_window).
    """
    from .build import build

    if to_date and to_date < from_date:
        raise click.UsageError(f"--to {to_date} is before --from {from_date}")
    _refuse_unlanded(target, to_date or from_date, as_json)
    outcome = build(target, from_date, to_date or from_date, select, full_refresh)
    if select and outcome.success and not outcome.nodes:
        fail(f"--select {' '.join(select)} matched no model, seed or test, so nothing was built. "
             f"`dbt ls --select {' '.join(select)}` shows what a selection matches; each layer is a folder "
             "of models/ (staging, rdv, ifl, c360, cdm_publish, cdm_ingest).", USAGE, None, as_json)
    failed, warned = outcome.failed_nodes, outcome.warned_nodes
    if as_json:
        nodes = [{k: v for k, v in n.items() if k != "compiled_code"} for n in outcome.nodes]
        click.echo(json.dumps({"success": outcome.success, "error": outcome.error, "nodes": nodes},
                              indent=2, default=str))
    else:
        built = sum(n["resource_type"] == "model" for n in outcome.nodes)
        tests = sum(n["resource_type"] == "test" for n in outcome.nodes)
        console.print(f"dbt build {from_date}..{to_date or from_date}: {built} models, {tests} tests, "
                      f"{len(failed)} failed, {len(warned)} warnings")
        for n in failed + warned:
            colour = "red" if n in failed else "yellow"
            console.print(f"  [{colour}]{n['status']}[/] [{n['reason_code']}] {n['name']}"
                          + (f" ({n['failures']} rows)" if n.get("failures") else "")
                          + (f": {n['message']}" if n.get("message") and n in failed else ""))
        if outcome.error:
            console.print(f"[red]{outcome.error}[/]")
    sys.exit(OK if outcome.success else DATA_FAILURE)


def _refuse_unlanded(target: str | None, day: dt.date, as_json: bool) -> None:
    """A build's window end becomes the as-of date of the 360 and publish layers, which never moves back: a
    date that was never landed would be published with no data of its own, for good."""
    from .ldz import is_landed
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        landed = is_landed(wh, day)
    if not landed:
        fail(f"{day} has not been landed (no loaded file of it in meta.ldz_files): building through it would "
             f"publish the tables as of {day} with no data of its own, and they never move back. Land it first "
             f"(`dq run --date {day}`, or `dq ingest --date {day}`), or end the range at a landed date (`dq dates`)",
             USAGE, None, as_json)


# --- reason codes -----------------------------------------------------------------------------------

@main.command("reason-codes")
@params.json_output
def reason_codes_cmd(as_json):
    """List every reason code: retriable, severity, recommended action and meaning."""
    from .reason_codes import as_rows

    rows = as_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    t = Table(title="Reason codes (DESIGN.md §7)", title_justify="left")
    for col in ("code", "retriable", "severity", "action", "layers", "description"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(*(str(r[c]) for c in ("code", "retriable", "severity", "action", "layers", "description")))
    console.print(t)


# --- bench ------------------------------------------------------------------------------------------

def _run_bench(run, record_fn, record: bool, as_json: bool, title: str, columns, cells, *,
               left=("engine",), caption: str | None = None) -> dict:
    """What every `dq bench*` command does around its measurement: progress on stderr, a BenchError as
    exit 1, `--record` into docs/benchmarks.md, `--json`, else a table. Returns the result."""
    from .bench import BenchError

    progress = (lambda _m: None) if as_json else (lambda msg: err_console.print(f"  {msg}"))
    try:
        res = run(progress)
    except BenchError as exc:
        fail(str(exc), DATA_FAILURE, None, as_json)
    if record:
        res["recorded_in"] = str(record_fn(res))
    if as_json:
        click.echo(json.dumps(res, indent=2))
        return res
    t = Table(title=title(res) if callable(title) else title, title_justify="left",
              caption=caption(res) if caption else None, caption_justify="left")
    for col in columns:
        t.add_column(col, justify="left" if col in left else "right", no_wrap=col in left)
    for row in cells(res):
        t.add_row(*row)
    console.print(t)
    if record:
        console.print(f"Recorded in {res['recorded_in']}.")
    return res


@main.command("bench")
@params.bench_customers
@click.option("--days-to-time", type=click.IntRange(1), default=1, show_default=True,
              help="Business dates to time, from the first (day 1 is the biggest: every customer).")
@params.bench_engines
@click.option("--repeat", type=click.IntRange(1), default=3, show_default=True,
              help="Runs per side (each side going first in turn); the best counts.")
@params.bench_record
@params.json_output
@handle_errors
def bench_cmd(customers, days_to_time, engines, repeat, record, as_json):
    """Time LDZ ingest against the engine's own bare bulk load of the same files.

    \b
    bare   = DuckDB read_csv / PostgreSQL COPY of the date's 11 CSV files into tables with the
             contract's types, nothing else;
    floor  = the bare load plus the LDZ's five lineage columns, unchecked: the least any ingest
             writing the LDZ's columns pays (floor ÷ bare: the part of the budget they take);
    ingest = `dq ingest` of that date into an empty warehouse (checks, classification, rejects,
             metadata, one transaction).
    Prints rows/s of each and the ratio ingest ÷ bare per engine; the target is ≤ 1.4 (validation,
    rejects and metadata cost at most 40%). PostgreSQL runs on a throwaway cluster unless POSTGRES_HOST
    names a server (then in its database cdm_bench). Never touches the dev warehouse.
    Exit 1 when a ratio misses the target.
    """
    from . import bench

    res = _run_bench(lambda progress: bench.run(customers, days_to_time, engines, repeat, progress), bench.record,
                     record, as_json, f"LDZ ingest vs bare bulk load ({customers:,} customers, best of {repeat})",
                     bench.COLUMNS, bench.table_cells, left=("engine", "date"), caption=bench.machine_line)
    sys.exit(OK if res["ok"] else DATA_FAILURE)


@main.command("bench-vault")
@params.bench_customers
@click.option("--days", type=click.IntRange(13), default=30, show_default=True,
              help="Business dates to load on DuckDB; the last one is timed against day 2 and the floor.")
@click.option("--postgres-days", type=click.IntRange(13), default=13, show_default=True,
              help="The same on PostgreSQL (single-threaded: 30 days at 1M take over an hour).")
@params.bench_engines
@params.bench_record
@params.json_output
@handle_errors
def bench_vault_cmd(customers, days, postgres_days, engines, record, as_json):
    """Time Raw Data Vault loads: RDV ÷ floor, day N ÷ day 2, ten-day range ÷ ten single days.

    \b
    floor   = the same compiled staging + vault SQL in first-build form, as plain CREATE TABLE AS,
              over the same LDZ rows, without dbt (target: RDV ÷ floor ≤ 1.5);
    day N   = the last day's load with the whole history in the vault (target: ÷ day 2 ≤ 1.3);
    range   = ten dates in one dbt invocation vs one invocation per date (target ≤ 0.4).
    Long: at 1M customers, about 15 minutes on DuckDB (30 days) and 20 on PostgreSQL (13 days), which
    needs ~50 GB of free disk there (the warehouse, one copy of it, the ten-day range's temporary files).
    Exit 1 when a ratio misses its target.
    """
    from . import bench_vault

    days_by_engine = {"duckdb": days, "postgres": postgres_days}
    res = _run_bench(lambda progress: bench_vault.run(engines, customers, days_by_engine, progress), bench_vault.record,
                     record, as_json, "Raw Data Vault loads", bench_vault.COLUMNS, bench_vault.table_cells)
    sys.exit(OK if res["ok"] else DATA_FAILURE)


@main.command("bench-360")
@params.bench_customers
@click.option("--days", type=click.IntRange(3), default=30, show_default=True,
              help="Business dates to build; day 2, day N/3 and the last day are timed.")
@params.bench_engines
@params.bench_record
@params.json_output
@handle_errors
def bench_360_cmd(customers, days, engines, record, as_json):
    """Time the day refresh of ifl + c360 + cdm_publish against the history it sits on.

    \b
    At day 2, day N/3 and day N: the day's vault load and the day's refresh of the upper layers,
    timed separately, with the contacts already in the vault; at day N also a full rebuild
    (--full-refresh) of the same layers. Prints the numbers; no pass/fail target (exit 0).
    Long: at 1M customers x 30 days, about 25 minutes on DuckDB.
    """
    from . import bench_360

    res = _run_bench(lambda progress: bench_360.run(engines, customers, days, progress), bench_360.record,
                     record, as_json, "360 layer: day refresh against history", bench_360.COLUMNS,
                     bench_360.table_cells)
    if not as_json:
        for line in bench_360.summary_lines(res):
            console.print(f"  {line}")


# --- demo -------------------------------------------------------------------------------------------

@main.command("demo")
@click.option("--customers", type=click.IntRange(1), default=5000, show_default=True)
@click.option("--days", type=click.IntRange(1), default=7, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to generate the extract. Default: data/extract under the repo root.")
@params.target
@handle_errors
def demo_cmd(customers, days, seed, out, target):
    """The end-to-end demo, the whole loop on one warehouse (dev = DuckDB file by default).

    \b
    generate → `dq backfill` of the dates: ingest each (LDZ), then one dbt build RDV → IFL → 360 →
    publish for the range → `dq run --from-layer ml` of the last date: ML scores (cdm_ingest), the vault
    ingests them, Customer 360 enriched → Great Expectations validates every layer → rows per layer and
    the top rows of each 360 table. Both runs are recorded (`dq runs`, reports/run_evidence/).
    Safe to rerun with the same options: each date's LDZ partition is replaced, never duplicated. Another
    extract (other --customers/--days/--seed) needs a fresh warehouse (`make clean`, or DQ_DUCKDB_PATH):
    the insert-only vault keeps the first extract's rows and the reconciliation checks fail.
    Exit 1 if any step fails (too small an extract cannot train the ML models: ZERO_ROWS).
    """
    from . import demo

    out = out or root() / "data" / "extract"
    result = demo.run(target, customers, days, seed, out, console, show_run=_show_run)
    console.print(
        "[bold]Where to look next[/]\n"
        "  • one layer's checks: `dq validate --layer rdv` (Data Docs under reports/data_docs/)\n"
        "  • the runs it recorded: `dq runs`; what to do next for a date: `dq plan --date <date>`\n"
        "  • a table: `dbt show --inline \"select * from cdm_publish.customer_360_v1\" --limit 5`\n"
        "  • lineage: `dbt docs generate --static` → target/static_index.html\n"
        f"  • the extract: {out}/<date>/ with _manifest.json\n"
        "  • break it on purpose: `dq generate --out /tmp/x --days 2 --inject null_key`, then "
        "`dq ingest --source /tmp/x --date 2026-01-02` and `dq rejects --date 2026-01-02`\n"
        "  • reason codes: `dq reason-codes`; everything else: `dq --help`, README.md, runbooks/")
    for problem in result.problems:
        console.print(f"[red]problem:[/] {problem}")
    sys.exit(OK if result.ok else DATA_FAILURE)


# --- validate (issue 5) -----------------------------------------------------------------------------

@main.command("validate")
@click.option("--layer", type=click.Choice(("ldz", "rdv", "ifl", "360", "publish", "ml", "all")), required=True,
              help="Layer whose checkpoint to run; `all` runs every layer in order (skipping unbuilt ones).")
@click.option("--date", "business_date", type=params.DATE, default=None,
              help="Business date to validate. Default: the latest date landed (max business_date in meta.ldz_files).")
@click.option("--max-failing-rows", type=click.IntRange(0, 200), default=20, show_default=True,
              help="Failing rows kept and shown per failed check.")
@params.target
@params.json_output
@handle_errors
def validate_cmd(layer, business_date, max_failing_rows, target, as_json):
    """Run a layer's Great Expectations checkpoint (suites in ge/suites/) for one business date.

    Prints each check with observed failing rows, expected, status and reason code; stores one row per
    check in meta.dq_results; shows up to N failing rows per failed check; writes offline Data Docs under
    reports/data_docs/. Exit 1 when a check fails, 2 when the layer is not built or on a config error.
    """
    from .validate import validate, validation_table

    progress = None if as_json else (lambda msg: err_console.print(f"  {msg}"))
    run = validate(target, layer, business_date, max_failing_rows, progress=progress)
    if as_json:
        click.echo(json.dumps(run.as_dict(), indent=2, default=str))
    else:
        for renderable in validation_table(run):
            console.print(renderable)
    sys.exit(OK if run.ok else (DATA_FAILURE if not run.errors else USAGE))


@main.command("bench-validate")
@click.option("--customers", type=click.IntRange(1), default=1_000_000, show_default=True,
              help="Customers in the generated extract (generated once, cached under data/bench/).")
@click.option("--days", type=click.IntRange(1), default=3, show_default=True,
              help="Business dates landed and built; the last one is validated.")
@params.bench_engines
@click.option("--repeat", type=click.IntRange(1), default=3, show_default=True, help="Runs per side; the best counts.")
@params.bench_record
@params.json_output
@handle_errors
def bench_validate_cmd(customers, days, engines, repeat, record, as_json):
    """Time `dq validate` per layer: the GX checkpoint against the same checks run as plain SQL.

    Prints GX ÷ SQL per layer without and with GX's import time (target ≤ 2 without). Builds its own
    warehouse (never the dev one). Exit 1 when a ratio misses the target.
    """
    from . import bench_validate

    res = _run_bench(
        lambda progress: bench_validate.run(engines, customers, days, repeat, progress), bench_validate.record,
        record, as_json,
        lambda r: f"Validation: GX vs plain SQL (GX import {r['gx_import_s']:.2f}s, best of {repeat})",
        bench_validate.COLUMNS, bench_validate.table_cells, left=("engine", "layer"))
    sys.exit(OK if res["ok"] else DATA_FAILURE)


# --- ml (issue 4: the ML write-back) ---------------------------------------------------------------

@main.group("ml")
def ml_group() -> None:
    """The ML write-back loop: score customers from cdm_publish into cdm_ingest (the vault ingests it)."""


@ml_group.command("score")
@params.business_date
@params.target
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="Only this model (repeatable): response_propensity, response_propensity_gbm. Default: both.")
@params.json_output
@handle_errors
def ml_score_cmd(business_date, target, models, as_json):
    """Train the response-propensity models on cdm_publish.customer_360_v1 as of --date, score every
    customer and write cdm_ingest.ml_customer_scores (+ AUC and row counts in cdm_ingest.ml_model_runs).

    Replaces each model's slice of the date in one transaction: safe to rerun. The published table must
    be as of --date (else exit 2: build through it first). Then `dq build --from D --select tag:ml+` loads
    the scores into rdv.s_customer_ml_score, quarantining bad rows in cdm_ingest.ml_score_rejects.
    Exit 1 when the data cannot train a model (too few responders).
    """
    from . import ml

    try:
        res = ml.score(target, business_date, list(models) or None)
    except ml.MlDataError as exc:
        fail(str(exc), DATA_FAILURE, exc.reason, as_json)
    if as_json:
        click.echo(json.dumps(res.as_dict(), indent=2, default=str))
        return
    t = Table(title=f"ML scores {business_date} from {res.features_from} (scored_at {res.scored_at} UTC)",
              title_justify="left")
    for col in ("model", "version", "AUC (holdout)", "train", "holdout", "responders", "scored"):
        t.add_column(col, justify="left" if col in ("model", "version") else "right", no_wrap=col == "version")
    for r in res.runs:
        t.add_row(r.model_name, r.model_version, f"{r.auc:.3f}", f"{r.train_rows:,}", f"{r.holdout_rows:,}",
                  f"{r.positives:,}", f"{r.scored_rows:,}")
    console.print(t)
    console.print("Written to cdm_ingest.ml_customer_scores and cdm_ingest.ml_model_runs. Next: "
                  f"`dq build --from {business_date} --select tag:ml+` loads them into the vault and Customer 360.")


# --- operations: alerts, healthcheck, smoke, docs (issue 6; dbt_project/alerts.py, health.py, smoke.py, site.py)

_STATUS_STYLE = {"OK": "green", "PASS": "green", "ALERT": "red", "BREACH": "red", "FAIL": "red", "WARN": "yellow",
                 "SKIPPED": "dim", "ACKNOWLEDGED": "cyan"}


def _status(value: str) -> str:
    return f"[{_STATUS_STYLE.get(value, 'white')}]{value}[/]"


@main.group("alerts", invoke_without_command=True)
@click.option("--last", type=click.IntRange(1), default=20, show_default=True, help="Alerts to list, newest first.")
@click.option("--date", "business_date", type=params.DATE, default=None, help="Only alerts of this business date.")
@params.target
@params.json_output
@click.pass_context
@handle_errors
def alerts_group(ctx, last, business_date, target, as_json):
    """List alerts (meta.etl_alerts), or detect them (`dq alerts check`).

    \b
    Kinds: RUN_FAILED (a run failed), ZERO_ROWS (a table got no rows for the date), ANOMALY (row count
    outside the band around its trailing median, negative revenue); each carries a reason code.
    Notifier: DQ_ALERT_WEBHOOK_URL (Slack incoming webhook or Telegram sendMessage URL; Telegram also
    needs DQ_ALERT_TELEGRAM_CHAT_ID), DQ_ALERT_TIMEOUT (5 s), DQ_ALERT_RETRIES (3), DQ_ALERT_BACKOFF (0.5 s,
    doubled per retry). Without a URL alerts are only recorded (sent = false).
    """
    if ctx.invoked_subcommand is not None:
        return
    from .alerts import list_alerts

    rows = list_alerts(target, last, business_date)
    if as_json:
        click.echo(json.dumps([a.as_dict() for a in rows], indent=2, default=str))
        return
    if not rows:
        console.print("No alerts recorded.")
        return
    console.print(f"Alerts (latest {last})" + (f" of {business_date}" if business_date else "") + ", newest first")
    t = Table()
    for col in ("created", "id", "kind", "reason", "date", "where", "sent (tries): last error", "acknowledged"):
        t.add_column(col, overflow="fold", no_wrap=col in ("created", "id", "kind", "reason", "date"))
    for a in rows:
        sent = ("yes" if a.sent else "[yellow]no[/]" if a.last_error else "no") + f" ({a.attempts})" + (
            f": {a.last_error}" if a.last_error else "")
        t.add_row(f"{a.created_at:%Y-%m-%d %H:%M:%S}", a.alert_id[:8], f"[red]{a.kind}[/]", a.reason_code,
                  str(a.business_date or ""), " ".join(x for x in (a.layer, a.table_name, a.run_id) if x),
                  sent, f"{a.acknowledged_at:%Y-%m-%d %H:%M}: {a.ack_note}" if a.acknowledged_at else "")
    console.print(t)
    for a in rows:  # under the table, one line each (the terminal wraps it): in a column it folds the table
        console.print(f"  {a.alert_id[:8]}: {' '.join(a.message.split())}", markup=False, soft_wrap=True)


@alerts_group.command("check")
@params.business_date
@click.option("--window", type=click.IntRange(1), default=None,
              help="Trailing business dates compared (env DQ_ANOMALY_WINDOW, default 7).")
@click.option("--band", type=click.FloatRange(0, min_open=True), default=None,
              help="Allowed distance from the trailing median, relative (env DQ_ANOMALY_BAND, default 0.5 = ±50%).")
@click.option("--min-history", type=click.IntRange(1), default=None,
              help="Earlier dates with rows needed before the band is judged (env DQ_ANOMALY_MIN_HISTORY, default 3).")
@click.option("--no-notify", is_flag=True, help="Record only; do not post to the webhook.")
@params.target
@params.json_output
@handle_errors
def alerts_check_cmd(business_date, window, band, min_history, no_notify, target, as_json):
    """Detect ZERO_ROWS and ANOMALY for a business date; record (and send) one alert per breach.

    ZERO_ROWS: a table every day feeds (LDZ contact history, flowchart runs, treatments; rdv.l_contact,
    s_contact_status, s_flowchart_run_execution) has no rows for --date. ANOMALY: a daily row count outside
    median x (1 ± band) of the earlier dates in the window, or a negative revenue* value (rdv rows of the
    date, c360, cdm_publish). Rerun-safe (an alert already recorded is not repeated). Exit 1 on a breach;
    a breach whose alert an operator acknowledged (`dq alerts ack`) is ACKNOWLEDGED and does not count.
    """
    from .alerts import AnomalySettings, check

    settings = AnomalySettings.from_env(window=window, band=band, min_history=min_history)
    rep = check(target, business_date, settings, notify=not no_notify)
    if as_json:
        click.echo(json.dumps(rep.as_dict(), indent=2, default=str))
    else:
        t = Table(title=f"dq alerts check {business_date} · target {rep.target}", title_justify="left")
        for col in ("check", "layer", "table", "observed", "expected", "status", "reason", "message"):
            t.add_column(col, overflow="fold", no_wrap=col in ("kind", "reason", "status", "check", "date"))
        for f in rep.findings:
            t.add_row(f.check, f.layer, f.table, "" if f.observed is None else f"{f.observed:,}", f.expected,
                      _status(f.status), f.reason_code or "", f.message)
        console.print(t)
        sent = sum(a.sent for a in rep.alerts)
        console.print(f"{len(rep.breaches)} breach(es): {len(rep.alerts)} alert(s) recorded ({sent} sent), "
                      f"{rep.already_recorded} already recorded, {rep.acknowledged} acknowledged (not breaches). "
                      "`dq alerts` lists them; `dq alerts ack ID --note WHY` accepts one.")
    sys.exit(OK if rep.ok else DATA_FAILURE)


@alerts_group.command("ack")
@click.argument("alert_ids", nargs=-1, required=True, metavar="ALERT_ID...")
@click.option("--note", required=True, help="Why it is accepted (e.g. 'campaign paused: a real drop'); stored.")
@params.target
@params.json_output
@handle_errors
def alerts_ack_cmd(alert_ids, note, target, as_json):
    """Accept alerts after looking into them (an ANOMALY that is a real change, say): `dq alerts check` then
    reports their breach as ACKNOWLEDGED and exits 0 for it. ALERT_ID: the id `dq alerts` shows (a unique
    prefix of 6+ characters). The note and time are kept in meta.etl_alerts."""
    from .alerts import acknowledge

    done = acknowledge(target, list(alert_ids), note)
    if as_json:
        click.echo(json.dumps([a.as_dict() for a in done], indent=2, default=str))
    else:
        for a in done:
            console.print(f"acknowledged {a.alert_id[:8]} {a.kind} {a.reason_code} {a.business_date or ''} "
                          f"{a.table_name or ''}: {a.ack_note}")


@alerts_group.command("record")
@click.option("--kind", type=click.Choice(("RUN_FAILED", "ZERO_ROWS", "ANOMALY")), required=True, help="Alert kind.")
@click.option("--reason", "reason_code", required=True, metavar="CODE",
              help="Reason code from `dq reason-codes` (why the run failed / what was found).")
@click.option("--message", required=True, help="One line for the operator.")
@click.option("--date", "business_date", type=params.DATE, default=None, help="Business date concerned.")
@click.option("--run-id", default=None, help="The failed run (orchestrator run or dq run id).")
@click.option("--detail", "details", multiple=True, metavar="KEY=VALUE", help="Extra details (repeatable).")
@params.target
@params.json_output
@handle_errors
def alerts_record_cmd(kind, reason_code, message, business_date, run_id, details, target, as_json):
    """Record (and send) one alert — for orchestrators: the Airflow DAG's on-failure callback calls
    `dq alerts record --kind RUN_FAILED --reason CODE ...`. Exit 2 for a reason code outside the enum."""
    from .alerts import record_alert
    from .reason_codes import ReasonCode

    if reason_code not in ReasonCode.__members__:
        raise click.BadParameter(f"{reason_code!r} is not a reason code (see `dq reason-codes`)", param_hint="--reason")
    extra = dict(d.split("=", 1) if "=" in d else (d, "") for d in details)
    a = record_alert(target, kind, reason_code, business_date, message, extra, run_id=run_id)
    if as_json:
        click.echo(json.dumps(a.as_dict(), indent=2, default=str))
    else:
        console.print(f"alert {a.alert_id} recorded ({'sent' if a.sent else 'not sent'})")


@alerts_group.command("resend")
@click.option("--last", type=click.IntRange(1), default=100, show_default=True, help="Look at this many latest alerts.")
@params.target
@params.json_output
@handle_errors
def alerts_resend_cmd(last, target, as_json):
    """Send again the unsent alerts among the latest N (after the webhook was down). Exit 1 if any stays unsent."""
    from .alerts import Notifier, resend_unsent

    notifier = Notifier.from_env()
    if not notifier.url:
        fail("DQ_ALERT_WEBHOOK_URL is not set: nothing to send to", USAGE, None, as_json)
    done = resend_unsent(target, notifier, last)
    if as_json:
        click.echo(json.dumps([a.as_dict() for a in done], indent=2, default=str))
    else:
        console.print(f"{sum(a.sent for a in done)} of {len(done)} unsent alert(s) sent.")
    sys.exit(OK if all(a.sent for a in done) else DATA_FAILURE)


@main.command("healthcheck")
@click.option("--date", "business_date", type=params.DATE, default=None,
              help="Business date to check. Default: the date control's current date, else the latest landed date.")
@click.option("--sla-days", type=click.IntRange(0), default=None,
              help="Days a 360/publish table may lag the business date (env DQ_SLA_DAYS, default 0).")
@click.option("--no-freshness", is_flag=True, help="Skip `dbt source freshness` (warehouse checks only).")
@params.target
@params.json_output
@handle_errors
def healthcheck_cmd(business_date, sla_days, no_freshness, target, as_json):
    """Is the warehouse fit for consumers? Read-only.

    \b
    source_freshness  each LDZ table's latest loaded file (warn 26 h, error 50 h)      STALE_SOURCE
    table_age         each 360 and publish table as of the business date (SLA days)   ZERO_ROWS
    data_present      the tables every day feeds have rows for the business date       ZERO_ROWS
    negative_amounts  no revenue* value below zero (rdv of the date, c360, publish)    ANOMALY
    Exit 0 healthy · 1 a breach (reason codes printed) · 2 nothing landed / config / connection.
    """
    from .health import healthcheck

    rep = healthcheck(target, business_date, sla_days, freshness=not no_freshness)
    if as_json:
        click.echo(json.dumps(rep.as_dict(), indent=2, default=str))
    else:
        t = Table(title=f"dq healthcheck · {rep.business_date} ({rep.reference}) · target {rep.target}",
                  title_justify="left")
        for col in ("check", "subject", "observed", "expected", "status", "reason", "message"):
            t.add_column(col, overflow="fold", no_wrap=col in ("kind", "reason", "status", "check", "date"))
        for c in rep.checks:
            t.add_row(c.check, c.subject, c.observed, c.expected, _status(c.status), c.reason_code or "", c.message)
        console.print(t)
        console.print("[green]healthy[/]" if rep.ok else
                      f"[red]{len(rep.breaches)} breach(es)[/]: {', '.join(rep.reason_codes)} (see `dq reason-codes`, "
                      "runbooks/08-alerts-and-healthcheck.md)")
    sys.exit(OK if rep.ok else DATA_FAILURE)


@main.command("smoke")
@params.target
@params.json_output
@handle_errors
def smoke_cmd(target, as_json):
    """Post-deploy smoke test, read-only: parse, compile, connection, publish contracts, release compatibility
    (every column of the latest `dq release snapshot` still published and in the deployed contract), date
    control, publish validation for the current business date.

    Exit 0 all pass · 1 SMOKE_FAILED (the failing checks are named: decide on rollback,
    runbooks/09-release-smoke.md) · 2 the warehouse cannot be reached (CONNECTIVITY: retry, do not roll back).
    """
    from .smoke import smoke

    progress = None if as_json else (lambda msg: err_console.print(f"  {msg}"))
    rep = smoke(target, progress)
    if as_json:
        click.echo(json.dumps(rep.as_dict(), indent=2, default=str))
    else:
        t = Table(title=f"dq smoke · target {rep.target} · business date {rep.business_date}", title_justify="left")
        for col in ("check", "status", "seconds", "detail"):
            t.add_column(col, overflow="fold", no_wrap=col in ("kind", "reason", "status", "check", "date"))
        for c in rep.checks:
            t.add_row(c.name, _status(c.status), f"{c.seconds:.1f}", c.detail)
        console.print(t)
        if rep.data_docs:
            console.print(f"Data Docs: {rep.data_docs}")
        if rep.connection_error:
            err_console.print(f"error: [CONNECTIVITY] {rep.connection_error}")
        elif not rep.ok:
            console.print(f"[red]SMOKE_FAILED[/]: {', '.join(c.name for c in rep.failed)} — "
                          "see runbooks/09-release-smoke.md (rollback decision)")
        else:
            console.print("[green]smoke passed[/]")
    sys.exit(USAGE if rep.connection_error else (OK if rep.ok else DATA_FAILURE))


@main.command("docs")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the site into. Default: site/ at the repo root.")
@params.target
@params.json_output
@handle_errors
def docs_cmd(out, target, as_json):
    """Build one offline documentation site: dbt lineage (`dbt docs generate --static`) + GX Data Docs.

    Writes <out>/index.html linking lineage/index.html (honours DBT_TARGET_PATH for dbt's output) and
    data_docs/ (copied from reports/data_docs/). Open <out>/index.html in a browser; no server needed.
    """
    from .site import build_site

    res = build_site(target, out)
    if as_json:
        click.echo(json.dumps(res.as_dict(), indent=2))
    else:
        console.print(f"Site written: {res.index} (lineage: {res.lineage}; {res.data_docs_pages} Data Docs run(s))")


# --- operations: run registry, date control, run / rerun / backfill, plan, runs (issue 6 items 1-5, 9-10)
# (dbt_project/registry.py, ops.py, plan.py, evidence.py)

_LAYER = click.Choice(("ingest", "rdv", "ifl", "360", "publish", "ml"))
_RUN_STYLE = {"success": "green", "warning": "yellow", "failed": "red", "abandoned": "red", "running": "cyan",
              "skipped": "dim"}


def _reason_code_values() -> list[str]:
    from .reason_codes import ReasonCode

    return [c.value for c in ReasonCode]


def _dates(step: dict) -> str:
    return str(step["from_date"]) + (f"..{step['to_date']}" if step["to_date"] != step["from_date"] else "")


def _steps_table(steps: list[dict]) -> Table:
    """A run's steps (registry rows), one row per layer attempt; the attempt and reason columns only when a step
    has one. Messages go under the table (_print_steps): in a column they fold the table on a narrow terminal."""
    t = Table()
    rows = [{"layer": s["layer"], "dates": _dates(s), "attempt": str(s["attempt"]),
             "status": f"[{_RUN_STYLE.get(s['status'], 'white')}]{s['status']}[/]", "reason": s["reason_code"] or "",
             "read": "" if s["rows_read"] is None else f"{s['rows_read']:,}",
             "written": "" if s["rows_written"] is None else f"{s['rows_written']:,}",
             "seconds": "" if s["seconds"] is None else f"{s['seconds']:.1f}"}
            for s in steps]
    optional = {"attempt": any(s["attempt"] > 1 for s in steps), "reason": any(r["reason"] for r in rows)}
    cols = [c for c in ("layer", "dates", "attempt", "status", "reason", "read", "written", "seconds")
            if optional.get(c, True)]
    for col in cols:
        t.add_column(col, justify="right" if col in ("attempt", "read", "written", "seconds") else "left",
                     no_wrap=True)
    for r in rows:
        t.add_row(*(r[c] for c in cols))
    return t


def _print_steps(title: str, steps: list[dict]) -> None:
    """A title line, the steps' table, then each step's message (a running or abandoned step: its process) on its
    own line, not wrapped by us (the terminal wraps it; a log keeps it whole, for grep)."""
    console.print(title, markup=False)
    console.print(_steps_table(steps))
    lines: list[tuple[list[str], str, str]] = []  # [layers], dates + attempt, message: consecutive equal ones once
    for s in steps:
        message = s["err_msg"] or (f"pid {s['pid']} on {s['host']}" if s["status"] in ("running", "abandoned")
                                   else "")
        where = _dates(s) + (f" attempt {s['attempt']}" if s["attempt"] > 1 else "")
        if lines and lines[-1][1:] == (where, message):
            lines[-1][0].append(s["layer"])
        elif message:
            lines.append(([s["layer"]], where, message))
    for layers, where, message in lines:
        console.print(f"  {', '.join(layers)} {where}: {message}", markup=False, soft_wrap=True)


def _run_title(job: str, run_id: str, target: str, from_date, to_date, reason: str | None) -> str:
    return (f"{job} {run_id} on {target} {from_date}" + (f"..{to_date}" if to_date != from_date else "")
            + (f", reason {reason}" if reason else ""))


def _show_run(res) -> None:
    """What `dq run` / `rerun` / `backfill` and the demo print for a run (ops.RunResult)."""
    _print_steps(_run_title(res.job, res.run_id, res.target, res.from_date, res.to_date, res.run_reason),
                 [dataclasses.asdict(s) for s in res.steps])


def _print_run(res, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(res.as_dict(), indent=2, default=str))
    else:
        _show_run(res)
        decision, why = res.downstream_decision
        console.print(f"status [bold]{res.status}[/]; downstream: [bold]{decision}[/] ({why})")
        if res.retries:
            console.print(f"{len(res.retries)} transient failure(s) retried: "
                          + ", ".join(f"{x['what']} {x['reason_code']}" for x in res.retries))
        console.print(f"evidence: {res.evidence_path}")
        if res.resume_command:
            console.print(f"[red]failed[/] — see `dq plan --date {res.from_date if res.job != 'backfill' else ''}"
                          .rstrip() + "`" if res.job != "backfill" else "[red]stopped[/]")
            console.print(f"resume with: [bold]{res.resume_command}[/]")
    sys.exit(OK if res.ok else DATA_FAILURE)


def _business_date_or_current(target, day):
    if day:
        return day
    from .project import default_target
    from .registry import current_date
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        current = current_date(wh, target or default_target())
    if current is None:
        raise click.UsageError("no --date and no current business date (set one with `dq dates set YYYY-MM-DD`)")
    return current


@main.group("dates", invoke_without_command=True)
@params.target
@params.json_output
@click.pass_context
@handle_errors
def dates_group(ctx, target, as_json):
    """The date control: the environment's current business date (meta.etl_date_control, one row per target).

    `dq run` without --date runs it. `set` and `advance` also set meta.load_window to that date, so a plain
    `dbt build --select ...` loads the same date as dq (the models read the window at run time: one parse).
    Without a sub-command: show — with the date Customer 360 is built as of, which never moves back (a past
    date's build keeps it), and the date consumers read in cdm_publish when a release rollback left it older.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(dates_show_cmd, target=target, as_json=as_json)


def _show_dates(target, as_json):
    from .load_window import built_as_of
    from .project import default_target
    from .registry import current_date, ensure_tables, load_window
    from .warehouse import Warehouse

    target = target or default_target()
    with Warehouse(target) as wh:
        ensure_tables(wh)
        current, window, built = current_date(wh, target), load_window(wh), built_as_of(wh)
        served = (wh.scalar("select max(as_of_date) from cdm_publish.customer_360_v1")
                  if wh.table_exists("cdm_publish", "customer_360_v1") else None)
    doc = {"target": target, "current_business_date": current.isoformat() if current else None,
           "load_window": [str(d) for d in window] if window else None,
           "as_of_date": str(built) if built else None,
           "published_as_of_date": str(served)[:10] if served else None}
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        rolled_back = doc["published_as_of_date"] and doc["published_as_of_date"] != doc["as_of_date"]
        console.print(f"{target}: current business date [bold]{doc['current_business_date'] or 'not set'}[/]; "
                      f"load window (what a plain dbt build loads): {' .. '.join(doc['load_window'] or ['none'])}; "
                      f"built as of {doc['as_of_date'] or 'nothing yet'} (Customer 360; it never moves back)"
                      + (f"; [yellow]consumers read cdm_publish as of {doc['published_as_of_date']}[/] (a release "
                         "rollback restored an older release; the next publish build catches up)"
                         if rolled_back else ""))


@dates_group.command("show")
@params.target
@params.json_output
@handle_errors
def dates_show_cmd(target, as_json):
    """Print the current business date and the load window."""
    _show_dates(target, as_json)


@dates_group.command("set")
@click.argument("day", type=params.DATE)
@params.target
@params.json_output
@handle_errors
def dates_set_cmd(day, target, as_json):
    """Set the current business date (and the load window) to DAY."""
    from .project import default_target
    from .registry import set_current_date
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        set_current_date(wh, target or default_target(), day)
    _show_dates(target, as_json)


@dates_group.command("advance")
@click.option("--days", type=click.IntRange(1), default=1, show_default=True, help="How many days forward.")
@params.target
@params.json_output
@handle_errors
def dates_advance_cmd(days, target, as_json):
    """Move the current business date forward (after a day is done); also moves the load window."""
    from .project import default_target
    from .registry import current_date, set_current_date
    from .warehouse import Warehouse

    target = target or default_target()
    with Warehouse(target) as wh:
        current = current_date(wh, target)
        if current is None:
            raise click.UsageError("no current business date to advance: `dq dates set YYYY-MM-DD` first")
        set_current_date(wh, target, current + dt.timedelta(days=days))
    _show_dates(target, as_json)


@main.command("run")
@click.option("--date", "business_date", type=params.DATE, default=None,
              help="Business date. Default: the current date of the date control (`dq dates show`).")
@params.source
@click.option("--from-layer", type=_LAYER, default=None, help="First layer (default ingest).")
@click.option("--to-layer", type=_LAYER, default=None, help="Last layer (default ml).")
@click.option("--wait", type=click.FloatRange(0), default=0, show_default=True,
              help="Seconds to wait for another run of the same date to finish before LOCK_TIMEOUT (exit 2).")
@params.target
@params.json_output
@handle_errors
def run_cmd(business_date, source, from_layer, to_layer, wait, target, as_json):
    """Run one business date through the layers: ingest → rdv → ifl → 360 → publish → ml.

    \b
    The dbt layers run in ONE dbt build (one parse); ML = score, then dbt build --select tag:ml+.
    Every layer is a row in meta.etl_runs (`dq runs`); the run writes reports/run_evidence/<run_id>.json.
    One run per target and date at a time: another one exits 2 with LOCK_TIMEOUT (or waits --wait s).
    CONNECTIVITY / LOCK_TIMEOUT are retried with backoff and jitter (DQ_RETRY_ATTEMPTS, DQ_RETRY_BASE_SECONDS,
    DQ_RETRY_MAX_SECONDS); anything else fails fast. A run killed mid-way is detected by the next run of the
    date (abandoned) and the date reloads to the state of an uninterrupted run.
    Source: --source, else DQ_SOURCE, else data/extract. Exit 1 when a step failed (`dq plan`).
    """
    from .ops import run_date

    day = _business_date_or_current(target, business_date)
    progress = None if as_json else (lambda msg: err_console.print(f"  {msg}"))
    res = run_date(target, day, source or None, from_layer, to_layer, wait=wait, progress=progress)
    _print_run(res, as_json)


@main.command("rerun")
@params.business_date
@click.option("--layer", type=_LAYER, required=True, help="Rerun from this layer on (ingest = replay the files).")
@click.option("--to-layer", type=_LAYER, default=None, help="Last layer (default ml).")
@click.option("--reason", type=click.Choice(_reason_code_values()),
              default="OPERATOR_REQUEST", show_default=True, help="Why (a reason code; recorded in the registry).")
@params.source
@click.option("--wait", type=click.FloatRange(0), default=0, show_default=True,
              help="Seconds to wait for another run of the date before LOCK_TIMEOUT.")
@params.target
@params.json_output
@handle_errors
def rerun_cmd(business_date, layer, to_layer, reason, source, wait, target, as_json):
    """Rerun a business date from LAYER on, recorded with its reason. Safe to repeat (the vault is
    insert-only and idempotent; ingest replaces the date atomically)."""
    from .ops import run_date

    progress = None if as_json else (lambda msg: err_console.print(f"  {msg}"))
    res = run_date(target, business_date, source or None, layer, to_layer, job="rerun", run_reason=reason, wait=wait,
                   progress=progress)
    _print_run(res, as_json)


@main.command("backfill")
@click.option("--from", "from_date", type=params.DATE, required=True, help="First business date.")
@click.option("--to", "to_date", type=params.DATE, required=True, help="Last business date.")
@click.option("--dry-run", is_flag=True, help="Print the plan (files, fingerprints, expected rows); change nothing.")
@params.source
@click.option("--wait", type=click.FloatRange(0), default=0, show_default=True,
              help="Seconds to wait for the dates' locks before LOCK_TIMEOUT.")
@params.target
@params.json_output
@handle_errors
def backfill_cmd(from_date, to_date, dry_run, source, wait, target, as_json):
    """Load a range of business dates: ingest each date, then rdv → publish for the range in ONE dbt build.

    \b
    One registry row per date (ingest) and one per layer for the range. Stops at the first date that
    fails to ingest (the dates before it still load) and prints the exact command to resume.
    --dry-run: per date the source files present or missing, each file hashed against its manifest's sha256
    and what is landed (new / same / changed / checksum_mismatch / missing), and the rows the manifests promise.
    Reads only; exit 1 when a required file is missing or does not match its manifest.
    ML scores are made for the date the published tables are as of (the last date, or a later one already
    built): after a backfill run `dq run --date <that date> --from-layer ml`.
    """
    from .ops import backfill, backfill_plan

    if dry_run:
        plan = backfill_plan(target, from_date, to_date, source or None)
        if as_json:
            click.echo(json.dumps(plan, indent=2))
        else:
            console.print(f"[bold]Backfill plan[/] {plan['from_date']}..{plan['to_date']} on {plan['target']} from "
                          f"{plan['source']}: layers {'; '.join(plan['layers'])}; "
                          f"{plan['expected_rows']:,} rows expected (dry run: nothing changed)")
            t = Table(title_justify="left")
            for col in ("date", "table", "file", "state", "rows", "sha256 (manifest)"):
                t.add_column(col, justify="right" if col == "rows" else "left", overflow="fold")
            for d in plan["dates"]:
                for f in d["files"]:
                    style = {"missing": "red", "checksum_mismatch": "red", "changed": "yellow",
                             "new": "green"}.get(f["state"], "dim")
                    t.add_row(d["business_date"], f["table"], f["file"], f"[{style}]{f['state']}[/]",
                              "" if f["rows"] is None else f"{f['rows']:,}", (f["sha256"] or "")[:16])
            console.print(t)
            for d in plan["dates"]:
                for problem in d["problems"]:
                    console.print(f"[red]{d['business_date']}[/] {problem}")
        sys.exit(OK if plan["ok"] else DATA_FAILURE)
    progress = None if as_json else (lambda msg: err_console.print(f"  {msg}"))
    res = backfill(target, from_date, to_date, source or None, wait=wait, progress=progress)
    _print_run(res, as_json)


@main.command("plan")
@params.business_date
@params.target
@params.json_output
@handle_errors
def plan_cmd(business_date, target, as_json):
    """Recovery advice for a business date: the recommended action (retry / rerun / replay / backfill /
    restore / escalate), why (the reason code found in the date's latest run, landing, validation, alerts or
    the latest smoke), what to do first, the exact command (landing from the folder the date came from) and
    the operator checklist. Reads only. Exit 0 when nothing is to do, 1 when an action is recommended."""
    from .plan import plan

    p = plan(target, business_date)
    if as_json:
        click.echo(json.dumps(p.as_dict(), indent=2, default=str))
    else:
        colour = "green" if p.action == "none" else "red"
        console.print(f"[bold]{p.target} {p.business_date}[/]: action [{colour}][bold]{p.action}[/][/]"
                      + (f" because [bold]{p.reason_code}[/]" if p.reason_code else ""))
        console.print(f"why: {p.why}")
        for step in p.first:
            console.print(f"first: {step}")
        if p.command:
            console.print(f"command: [bold]{p.command}[/]")
        for step in p.then:
            console.print(f"then: {step}")
        console.print("\n[bold]Operator checklist[/]")
        for key, value in p.checklist.items():
            why = f" — {p.decision_reason}" if key == "downstream_decision" else ""
            console.print(f"- [ ] {key.replace('_', ' ')}: {value}{why}")
    sys.exit(OK if p.action == "none" else DATA_FAILURE)


@main.command("runs")
@click.option("--last", type=click.IntRange(1), default=10, show_default=True,
              help="How many runs, newest first (each with all its steps).")
@click.option("--date", "business_date", type=params.DATE, default=None,
              help="Only runs covering this business date (and only their steps that cover it).")
@params.target
@params.json_output
@handle_errors
def runs_cmd(last, business_date, target, as_json):
    """The run history (meta.etl_runs): one table per run, rerun, backfill and rollback, newest first, with a
    row per layer and attempt in the order they ran; each step's message under its table. --json: the registry
    rows of those runs."""
    from .registry import list_runs
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        rows = list_runs(wh, last, business_date)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print(f"No runs recorded{f' for {business_date}' if business_date else ''}: `dq run`, `dq rerun`, "
                      "`dq backfill` and `dq demo` record them; `dq ingest`, `dq build` and `dq ml` do not "
                      "(`dq plan --date D` also reads the landings in meta.ldz_files).")
        return
    console.print("meta.etl_runs: the newest run first, each run's steps in the order they ran")
    runs: dict[str, list[dict]] = {}  # two runs of different dates may interleave in time
    for r in rows:
        runs.setdefault(r["run_id"], []).insert(0, r)
    for run_id, steps in runs.items():
        first = steps[0]
        title = _run_title(first["job"], run_id, first["target"], min(s["from_date"] for s in steps),
                           max(s["to_date"] for s in steps), first["run_reason"])
        _print_steps(f"{title}, started {str(min(s['started_at'] for s in steps))[:19]}", steps)


# --- release snapshot / list / diff / rollback (DESIGN.md §8; dbt_project/release.py, release_cli.py)
from .release_cli import release_group  # noqa: E402  (its commands live in their own module)

main.add_command(release_group)


def entry() -> None:
    """The `dq` console script: run the command, then — only if Great Expectations was loaded — leave
    without Python's finalization. DuckDB 2.0's bindings print dozens of "nanobind: leaked ..." lines at
    interpreter exit once GX's SQLAlchemy dialect has imported DuckDB's type constants: harmless, but it
    buries the command's own output. By then every file and connection is closed; logs and the standard
    streams are flushed first, and the exit code is the command's. multiprocessing's own exit handler runs
    first (it would run at a normal exit): it releases the semaphores dbt created, which the resource
    tracker would otherwise report as leaked."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            err_console.print(str(exc.code))
    if "great_expectations" in sys.modules:
        import logging
        import os
        from multiprocessing import util as mp_util

        mp_util._exit_function()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
