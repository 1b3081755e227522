"""Operations (issue 6 items 1-5, 9-10): the run registry, date control, dq run / rerun / backfill, the
per-date lock, retries on a real transient failure, kill-and-recover, dq plan for every reason code, run
evidence against its JSON Schema. Each on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from test_360 import corrected_response, response_rows, rewrite_extract_file
from test_rdv import refresh_manifest_entry, snapshot

from dbt_project import ops, registry
from dbt_project.cli import main
from dbt_project.evidence import schema_path
from dbt_project.plan import plan
from dbt_project.project import duckdb_path, root
from dbt_project.reason_codes import ReasonCode
from dbt_project.warehouse import Warehouse

D1, D2, D3 = (dt.date(2026, 1, d) for d in (1, 2, 3))
FAST = ops.RetryPolicy(attempts=6, base=0.3, cap=2.0)


@pytest.fixture(autouse=True)
def evidence_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "evidence"
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(path))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "dbt_logs"))
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def validate_evidence(path: str | Path) -> dict:
    doc = json.loads(Path(path).read_text())
    jsonschema.validate(doc, json.loads(schema_path().read_text()))
    return doc


def rows_of(target: str, **kw) -> list[dict]:
    with Warehouse(target) as wh:
        return registry.list_runs(wh, last=None, **kw)


def content_hash(target: str) -> str:
    """Every table of every schema dq and dbt write, as sorted rows."""
    h = hashlib.sha256()
    with Warehouse(target) as wh:
        tables = wh.query("select table_schema, table_name from information_schema.tables where table_schema in "
                          "('ldz', 'meta', 'stg', 'rdv', 'ifl', 'c360', 'cdm_publish', 'cdm_ingest') "
                          "and table_type = 'BASE TABLE' order by 1, 2")
        for schema, table in tables:
            rows = wh.query(f"select * from {schema}.{table}")
            h.update(f"{schema}.{table}{sorted(map(repr, rows))}".encode())
    return h.hexdigest()


# --- registry rows, success and failure ---------------------------------------------------------------

def test_a_run_records_one_row_per_layer_and_valid_evidence(target, clean_extract):
    res = ops.run_date(target, D1, clean_extract, to_layer="publish", policy=FAST)
    assert res.ok and res.status == "success", res.as_dict()
    rows = rows_of(target, run_id=res.run_id)
    assert sorted(r["layer"] for r in rows) == sorted(["ingest", "rdv", "ifl", "360", "publish"])
    assert {r["status"] for r in rows} == {"success"}
    ingest = next(r for r in rows if r["layer"] == "ingest")
    manifest = json.loads((clean_extract / D1.isoformat() / "_manifest.json").read_text())
    assert ingest["rows_read"] == ingest["rows_written"] == sum(f["rows"] for f in manifest["files"])
    assert all(r["version_tag"] and r["host"] and r["finished_at"] >= r["started_at"] for r in rows)
    with Warehouse(target) as wh:  # the layers really loaded the date
        assert wh.scalar("select count(*) from rdv.h_customer") > 0
        assert wh.scalar("select count(*) from cdm_publish.customer_360_v1") > 0
    doc = validate_evidence(res.evidence_path)
    assert doc["downstream_decision"] == "unblock"
    assert {m["layer"] for m in doc["models"]} >= {"rdv", "ifl", "360", "publish"}
    assert len(doc["sources"]) == len(manifest["files"]) and doc["manifests"][0]["sha256"]
    assert all(r["evidence_path"] == res.evidence_path for r in rows)


def test_a_failed_run_records_its_reason_code_skips_the_rest_and_alerts(target, tmp_path):
    empty = tmp_path / "no_extract"
    empty.mkdir()
    result = invoke("run", "--date", "2026-01-05", "--source", str(empty), "--target", target)
    assert result.exit_code == 1, result.output
    assert "dq rerun --date 2026-01-05 --layer ingest" in result.output
    rows = {r["layer"]: r for r in rows_of(target, business_date=dt.date(2026, 1, 5))}
    assert rows["ingest"]["status"] == "failed" and rows["ingest"]["reason_code"] == "MISSING_FILE"
    assert {rows[x]["status"] for x in ("rdv", "ifl", "360", "publish", "ml")} == {"skipped"}
    doc = validate_evidence(rows["ingest"]["evidence_path"])
    assert doc["status"] == "failed" and doc["downstream_decision"] == "hold" and doc["reason_code"] == "MISSING_FILE"
    from dbt_project import alerts

    fired = alerts.list_alerts(target, business_date=dt.date(2026, 1, 5))
    assert [(a.kind, a.reason_code, a.run_id) for a in fired] == [("RUN_FAILED", "MISSING_FILE", doc["run_id"])]
    p = plan(target, dt.date(2026, 1, 5))
    assert (p.action, p.reason_code) == ("replay", "MISSING_FILE")
    assert p.command.startswith("dq rerun --date 2026-01-05 --layer ingest --reason MISSING_FILE")
    assert doc["resume_command"].startswith("dq rerun --date 2026-01-05 --layer ingest --reason MISSING_FILE")
    # the run was given its source folder: the printed recovery reads the same folder
    assert doc["resume_command"].endswith(f" --source {empty}") and p.command.endswith(f" --source {empty}")


# --- the lock -----------------------------------------------------------------------------------------

def test_a_second_run_of_the_same_date_is_refused_with_lock_timeout(target, clean_extract):
    engine = "duckdb" if target == "dev" else "postgres"
    held = registry.DateLock(target, engine, D2)
    assert held.try_acquire()  # what a run of D2 holds while it works
    try:
        t0 = time.monotonic()
        result = invoke("run", "--date", str(D2), "--source", str(clean_extract), "--target", target, "--wait", "1")
        assert result.exit_code == 2, result.output
        assert "LOCK_TIMEOUT" in result.output and time.monotonic() - t0 >= 1
        assert not [r for r in rows_of(target, business_date=D2) if r["status"] == "running"]
        assert plan(target, D2).action == "backfill"  # the refused run changed nothing
        other = ops.run_date(target, D1, clean_extract, to_layer="ingest", policy=FAST)  # another date is free
        assert other.ok
    finally:
        held.release()
    assert ops.run_date(target, D2, clean_extract, to_layer="ingest", policy=FAST).ok  # free again


def test_ingest_of_a_date_a_run_holds_is_refused_and_changes_nothing(target, clean_extract):
    """On PostgreSQL nothing else stops `dq ingest` from replacing the LDZ rows a run is loading."""
    engine = "duckdb" if target == "dev" else "postgres"
    assert invoke("ingest", "--date", str(D2), "--source", str(clean_extract), "--target", target).exit_code == 0
    with Warehouse(target) as wh:
        before = wh.query("select load_id from meta.ldz_files")
    held = registry.DateLock(target, engine, D2)
    assert held.try_acquire()
    try:
        result = invoke("ingest", "--date", str(D2), "--source", str(clean_extract), "--target", target, "--json")
        assert result.exit_code == 2, result.output
        doc = json.loads(result.stdout)
        assert doc["reason_code"] == "LOCK_TIMEOUT" and f"a run holds {target} {D2}" in doc["error"], doc
        assert invoke("ingest", "--date", str(D1), "--source", str(clean_extract), "--target", target).exit_code == 0
    finally:
        held.release()
    with Warehouse(target) as wh:
        landed = wh.query("select load_id from meta.ldz_files where business_date <> " + wh.param, [D1])
    assert landed == before  # the refused ingest logged nothing
    assert invoke("ingest", "--date", str(D2), "--source", str(clean_extract), "--target", target).exit_code == 0


def test_builds_of_one_warehouse_run_one_at_a_time(target, clean_extract, monkeypatch):
    """The load window is one row per warehouse: a second build waits for the first (here: gives up at once)
    and leaves the window alone; once the lock is free it builds."""
    from dbt_project.load_window import set_window

    engine = "duckdb" if target == "dev" else "postgres"
    assert invoke("ingest", "--date", str(D1), "--source", str(clean_extract), "--target", target).exit_code == 0
    with Warehouse(target) as wh:
        set_window(wh, D2, D2)  # the window another build set
    held = registry.BuildLock(target, engine)
    assert held.try_acquire()  # what another build holds while it runs
    monkeypatch.setenv("DQ_BUILD_WAIT_SECONDS", "1")
    try:
        result = invoke("build", "--from", str(D1), "--select", "stg_mdm__customer", "--target", target, "--json")
        assert result.exit_code == 2, result.output
        doc = json.loads(result.stdout)
        assert doc["reason_code"] == "LOCK_TIMEOUT" and "another dbt build" in doc["error"], doc
        with Warehouse(target) as wh:
            assert registry.load_window(wh) == (D2, D2)  # untouched
        result = invoke("dates", "set", str(D3), "--target", target)  # moves the window too: waits, then refused
        assert result.exit_code == 2 and "another dbt build" in result.output, result.output
        with Warehouse(target) as wh:
            assert registry.load_window(wh) == (D2, D2)
    finally:
        held.release()
    result = invoke("build", "--from", str(D1), "--select", "stg_mdm__customer", "--target", target)
    assert result.exit_code == 0, result.output
    assert registry.BuildLock(target, engine).is_free()  # released after the build


# --- retries on a real transient failure -------------------------------------------------------------

def _block_warehouse(target: str, seconds: float):
    """Make the warehouse really unreachable for a while: DuckDB — another process holds the database file;
    PostgreSQL — the database refuses connections (ALTER DATABASE ... ALLOW_CONNECTIONS false)."""
    if target == "dev":
        code = (f"import duckdb, time, sys; c = duckdb.connect({str(duckdb_path())!r}); print('held', flush=True); "
                f"time.sleep({seconds}); c.close()")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "held"
        return proc.wait
    import psycopg2

    env = os.environ
    admin = psycopg2.connect(host=env["POSTGRES_HOST"], port=int(env["POSTGRES_PORT"]), user=env["POSTGRES_USER"],
                             password=env.get("POSTGRES_PASSWORD") or None, dbname="postgres")
    admin.autocommit = True
    db = env["POSTGRES_DB"]
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')

    def reopen():
        time.sleep(seconds)
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        admin.close()

    thread = threading.Thread(target=reopen)
    thread.start()
    return thread.join


def test_a_transient_failure_is_retried_with_backoff_then_succeeds(target, clean_extract):
    with Warehouse(target) as wh:  # the registry exists; the run then meets an unreachable warehouse
        registry.ensure_tables(wh)
    done = _block_warehouse(target, 2.5)
    try:
        res = ops.run_date(target, D1, clean_extract, to_layer="ingest", policy=FAST)
    finally:
        done()
    assert res.ok, res.as_dict()
    expected = ReasonCode.LOCK_TIMEOUT.value if target == "dev" else ReasonCode.CONNECTIVITY.value
    assert res.retries and {r["reason_code"] for r in res.retries} == {expected}, res.retries
    waits = [r["sleep_s"] for r in res.retries]
    for n, w in enumerate(waits, start=1):  # exponential backoff with jitter inside its band
        d = min(FAST.cap, FAST.base * 2 ** (n - 1))
        assert d / 2 <= w <= d
    assert sum(waits) >= 1.0
    assert validate_evidence(res.evidence_path)["retries"] == res.retries


@pytest.mark.parametrize("command", ["run", "demo"])
def test_a_transient_failure_that_outlives_its_retries_exits_2(target, clean_extract, monkeypatch, tmp_path, command):
    """A clean exit 2 with the reason code, no traceback: `dq run`, and `dq demo`, whose loads are runs too."""
    with Warehouse(target) as wh:
        registry.ensure_tables(wh)
    monkeypatch.setenv("DQ_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("DQ_RETRY_BASE_SECONDS", "0.2")
    args = (["run", "--date", str(D1), "--source", str(clean_extract)] if command == "run" else
            ["demo", "--customers", "60", "--days", "2", "--out", str(tmp_path / "x")])
    done = _block_warehouse(target, 4)
    try:
        result = invoke(*args, "--target", target)
    finally:
        done()
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert ("LOCK_TIMEOUT" if target == "dev" else "CONNECTIVITY") in result.output
    # given up once after DQ_RETRY_ATTEMPTS, not retried again around it (which made 4 attempts 16)
    assert result.output.count("still failing after") == 1, result.output


def test_a_layer_retried_after_a_transient_failure_is_judged_by_its_last_attempt(target):
    """A dbt build that met a locked (DuckDB) or closed warehouse is retried (_dbt_step: attempt 2, ...). The
    failed attempt stays in the registry as history; the run's status, decision and alert, and `dq plan`,
    follow each layer's last attempt."""
    steps = []
    for layer, attempt, status, code in [("ingest", 1, "success", None), ("rdv", 1, "failed", "LOCK_TIMEOUT"),
                                         ("publish", 1, "failed", "LOCK_TIMEOUT"), ("rdv", 2, "success", None),
                                         ("publish", 2, "success", None)]:
        s = registry.Step("run", "run-retried", "run-retried", target, layer, D3, D3, attempt)
        s.status, s.reason_code = status, code
        steps.append(s)
    res = ops.RunResult("run-retried", "run-retried", "run", target, D3, D3, None, steps)
    assert (res.ok, res.status, res.reason_code, res.downstream_decision[0]) == (True, "success", None, "unblock")
    with Warehouse(target) as wh:
        registry.ensure_tables(wh)
        for s in steps:
            registry.insert_step(wh, s)
    p = plan(target, D3)
    assert (p.action, p.run_id, p.checklist["downstream_decision"]) == ("none", "run-retried", "unblock"), p
    steps[-1].status, steps[-1].reason_code = "failed", "LOCK_TIMEOUT"  # the last attempt failed too
    assert (res.ok, res.failed_step.layer, res.reason_code) == (False, "publish", "LOCK_TIMEOUT")
    with Warehouse(target) as wh:
        registry.update_step(wh, steps[-1])
    assert (plan(target, D3).action, plan(target, D3).failed_layer) == ("retry", "publish")


def test_on_duckdb_a_command_meeting_a_busy_warehouse_says_so(target_env):
    """DuckDB lets one process open the file: while a run works, `dq runs` / `dq plan` cannot read the registry.
    They say that another process (its pid) has the warehouse, with LOCK_TIMEOUT, not a connection problem."""
    target = target_env("duckdb")
    with Warehouse(target) as wh:
        registry.ensure_tables(wh)
    done = _block_warehouse(target, 5)
    try:
        for args in (["runs"], ["plan", "--date", str(D1)]):
            result = invoke(*args, "--target", target)
            assert result.exit_code == 2, result.output
            assert "[LOCK_TIMEOUT]" in result.output and "in use by another process (pid " in result.output
    finally:
        done()


# --- rerun, backfill ------------------------------------------------------------------------------------

def test_rerun_from_a_layer_records_its_reason_and_is_safe_to_repeat(built_target, clean_extract):
    before = snapshot(built_target)
    for _ in range(2):
        result = invoke("rerun", "--date", str(D3), "--layer", "ifl", "--to-layer", "publish", "--reason",
                        "MAPPING_MISSING", "--source", str(clean_extract), "--target", built_target, "--json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert [s["layer"] for s in doc["steps"]] == ["ifl", "360", "publish"]
    rows = rows_of(built_target, run_id=doc["run_id"])
    assert {r["job"] for r in rows} == {"rerun"} and {r["run_reason"] for r in rows} == {"MAPPING_MISSING"}
    assert snapshot(built_target) == before  # the vault untouched by a rerun from IFL
    validate_evidence(doc["evidence_path"])


def test_rerunning_a_past_date_keeps_the_published_tables_as_of_the_latest_date(built_target, clean_extract):
    """The warehouse is built through D3. Rerunning D1 from its ingest (late or corrected data) reloads D1 into
    the vault and rebuilds the interface, 360 and publish layers as of D3, not D1: consumers never see the
    published tables move back, and the same data gives the same published rows."""
    def published() -> list[tuple]:
        with Warehouse(built_target) as wh:
            return sorted(map(repr, wh.query("select * from cdm_publish.customer_360_v1")))
    before = published()
    result = invoke("rerun", "--date", str(D1), "--layer", "ingest", "--source", str(clean_extract), "--target",
                    built_target, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["downstream_decision"] == "unblock"
    ml = doc["steps"][-1]  # scores are made for the published date (D3), not for D1
    assert (ml["layer"], ml["status"]) == ("ml", "skipped") and f"dq ml score --date {D3}" in ml["err_msg"], ml
    with Warehouse(built_target) as wh:
        assert wh.query("select distinct as_of_date from cdm_publish.customer_360_v1") == [(D3,)]
        assert wh.query("select from_date, to_date, as_of_date from meta.load_window") == [(D1, D1, D3)]
    assert published() == before
    runs = len(rows_of(built_target))
    result = invoke("run", "--date", str(D1), "--from-layer", "ml", "--target", built_target)  # ML alone: refused
    assert result.exit_code == 2 and "a past date cannot be scored" in result.output, result.output
    assert len(rows_of(built_target)) == runs  # before anything ran


def test_a_failing_rerun_prints_one_json_document_and_dbt_lines_go_to_stderr(built_target, clean_extract):
    with Warehouse(built_target) as wh:  # an unmapped channel: the interface layer's mapping test fails
        wh.execute("update rdv.s_offer_details set channel = 'FAX'")
    result = invoke("rerun", "--date", str(D3), "--layer", "ifl", "--to-layer", "publish", "--source",
                    str(clean_extract), "--target", built_target, "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)  # nothing but dq's document on stdout
    assert doc["status"] == "failed" and doc["reason_code"] == "MAPPING_MISSING", doc
    assert "FAX" in result.stderr  # dbt's own failure lines, on stderr
    assert "\x1b[" not in result.stderr  # not a terminal (a log, Airflow's): without colour escape codes


def test_backfill_dry_run_changes_nothing(built_target, clean_extract):
    before = content_hash(built_target)
    result = invoke("backfill", "--from", str(D2), "--to", "2026-01-04", "--dry-run", "--source", str(clean_extract),
                    "--target", built_target, "--json")
    assert result.exit_code == 1, result.output  # 2026-01-04 has no extract
    doc = json.loads(result.output)
    by_date = {d["business_date"]: d for d in doc["dates"]}
    assert {f["state"] for f in by_date["2026-01-02"]["files"]} == {"same"}  # landed with these fingerprints
    assert by_date["2026-01-04"]["problems"] and not by_date["2026-01-04"]["manifest"]
    manifest = json.loads((clean_extract / "2026-01-03" / "_manifest.json").read_text())
    assert by_date["2026-01-03"]["expected_rows"] == sum(f["rows"] for f in manifest["files"])
    assert content_hash(built_target) == before


def test_backfill_dry_run_hashes_each_file_against_its_manifest(built_target, clean_extract, tmp_path):
    """A file changed after its manifest was written is not `same`: the real backfill would stop there."""
    import shutil

    shutil.copytree(clean_extract / "2026-01-02", tmp_path / "2026-01-02")
    with (tmp_path / "2026-01-02" / "ua_offer.csv").open("a") as fh:
        fh.write("one more line\n")
    result = invoke("backfill", "--from", str(D2), "--to", str(D2), "--dry-run", "--source", str(tmp_path),
                    "--target", built_target, "--json")
    assert result.exit_code == 1, result.output
    day = json.loads(result.output)["dates"][0]
    states = {f["table"]: f["state"] for f in day["files"]}
    assert states.pop("ua_offer") == "checksum_mismatch" and set(states.values()) == {"same"}, states
    assert [p for p in day["problems"] if p.startswith("CHECKSUM_MISMATCH: ua_offer")], day["problems"]


def test_backfill_loads_the_range_in_one_build_and_stops_at_the_first_failing_date(target, clean_extract):
    res = ops.backfill(target, D1, dt.date(2026, 1, 4), clean_extract, policy=FAST)
    assert not res.ok
    ingest = [s for s in res.steps if s.layer == "ingest"]
    assert [(s.from_date, s.status) for s in ingest] == [(D1, "success"), (D2, "success"), (D3, "success"),
                                                         (dt.date(2026, 1, 4), "failed")]
    assert ingest[-1].reason_code == "MISSING_FILE"
    dbt_steps = [s for s in res.steps if s.layer != "ingest"]
    assert {(s.from_date, s.to_date, s.status) for s in dbt_steps} == {(D1, D3, "success")}
    assert res.resume_command == "dq backfill --from 2026-01-04 --to 2026-01-04" + (
        "" if target == "dev" else " --target postgres") + f" --source {clean_extract}"
    with Warehouse(target) as wh:
        assert wh.scalar("select count(distinct business_date) from rdv.l_contact") == 3
    doc = validate_evidence(res.evidence_path)
    assert doc["job"] == "backfill" and doc["resume_command"] == res.resume_command


# --- kill and recover ---------------------------------------------------------------------------------

def _env_for_child(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["DBT_LOG_PATH"] = str(tmp_path / "child_logs")
    env["DBT_TARGET_PATH"] = str(tmp_path / "child_target")  # its own target dir: no clash with this process
    return env


def test_a_run_killed_inside_the_rdv_step_is_recovered_to_the_uninterrupted_state(target_env, engine,
                                                                                  clean_extract, tmp_path):
    reference = target_env(engine)
    assert ops.run_date(reference, D1, clean_extract, to_layer="rdv", policy=FAST).ok
    expected = snapshot(reference, drop_load_id=True)

    killed = target_env(engine)  # a fresh warehouse; the env now points at it
    env = _env_for_child(tmp_path)
    log = Path(env["DBT_LOG_PATH"]) / "dbt.log"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "dq"), "run", "--date", str(D1), "--source",
                             str(clean_extract), "--to-layer", "rdv", "--target", killed], env=env, cwd=root(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until dbt is building vault models
        if log.exists() and log.read_text(errors="replace").count("model rdv.") >= 3:
            break
        assert proc.poll() is None, "the run ended before it reached the RDV step"
        time.sleep(0.05)
    else:
        pytest.fail("the run never reached the RDV models")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    running = [r for r in rows_of(killed, business_date=D1) if r["status"] == "running"]
    assert {r["layer"] for r in running} == {"rdv"}  # the killed step's row stayed `running`
    p = plan(killed, D1)
    assert p.action == "rerun" and "abandoned" in p.why and p.command.startswith("dq rerun --date 2026-01-01")

    res = ops.run_date(killed, D1, clean_extract, to_layer="rdv", policy=FAST)
    assert res.ok and [a["run_id"] for a in res.abandoned] == [running[0]["run_id"]]
    statuses = {r["status"] for r in rows_of(killed, run_id=running[0]["run_id"])}
    assert statuses <= {"abandoned", "success"} and "abandoned" in statuses
    assert snapshot(killed, drop_load_id=True) == expected  # no duplicate, no loss
    validate_evidence(res.evidence_path)


# --- dq plan for every reason code ---------------------------------------------------------------------

def test_plan_recommends_the_action_of_every_reason_code(target):
    with Warehouse(target) as wh:
        registry.ensure_tables(wh)
        for i, code in enumerate(ReasonCode):
            day = dt.date(2026, 3, 1) + dt.timedelta(days=i)
            step = registry.Step("run", f"run-test-{i}", f"run-test-{i}", target, "rdv", day, day)
            step.status, step.reason_code, step.err_msg = "failed", code.value, "injected for the test"
            registry.insert_step(wh, step)
    t = "" if target == "dev" else " --target postgres"
    for i, code in enumerate(ReasonCode):
        day = dt.date(2026, 3, 1) + dt.timedelta(days=i)
        result = invoke("plan", "--date", str(day), "--target", target, "--json")
        assert result.exit_code == 1, result.output
        p = json.loads(result.output)
        assert (p["action"], p["reason_code"], p["failed_layer"]) == (code.action, code.value, "rdv"), code
        assert set(p["checklist"]) == {"failing_partition", "evidence_read", "source_output_boundary", "action",
                                       "checks_result", "downstream_decision"}
        assert p["checklist"]["downstream_decision"] == "hold"
        reason = "" if code is ReasonCode.OPERATOR_REQUEST else f" --reason {code.value}"
        want = {"retry": f"dq run --date {day} --from-layer rdv --wait 3600{t}",
                "rerun": f"dq rerun --date {day} --layer rdv{reason}{t}",
                "replay": f"dq rerun --date {day} --layer ingest{reason}{t}",
                "backfill": f"dq backfill --from {day} --to {day}{t}",
                "restore": None, "escalate": None}[code.action]
        assert p["command"] == want, (code, p["command"])
        if code.action in ("restore", "escalate"):
            assert p["then"]
    text = invoke("plan", "--date", "2026-03-01", "--target", target).output
    assert "Operator checklist" in text and "failing partition" in text
    mapping = dt.date(2026, 3, 1) + dt.timedelta(days=list(ReasonCode).index(ReasonCode.MAPPING_MISSING))
    assert "source/marketing owner" in plan(target, mapping).then[0]  # escalated to whom the runbooks name
    ml_day = dt.date(2026, 4, 1)  # ML with too little data to train: a rerun finds the same data, so escalate
    with Warehouse(target) as wh:
        step = registry.Step("run", "run-ml", "run-ml", target, "ml", ml_day, ml_day)
        step.status, step.reason_code = "failed", ReasonCode.ZERO_ROWS.value
        registry.insert_step(wh, step)
    p = plan(target, ml_day)
    assert (p.action, p.reason_code, p.command) == ("escalate", "ZERO_ROWS", None) and "data science" in p.then[0], p


def test_a_past_dates_failed_ml_settles_once_a_later_date_is_published(built_target):
    """Day 1 of a new warehouse has no responders (ML: ZERO_ROWS); once a later date is published, that ML step
    cannot be redone (scores are made for the latest date) and need not be: nothing to do, unblock."""
    with Warehouse(built_target) as wh:
        registry.ensure_tables(wh)
        for layer, status, code in (("publish", "success", None), ("ml", "failed", "ZERO_ROWS")):
            step = registry.Step("run", "run-day1", "run-day1", built_target, layer, D1, D1)
            step.status, step.reason_code = status, code
            registry.insert_step(wh, step)
    p = plan(built_target, D1)  # built as of D3
    assert (p.action, p.checklist["downstream_decision"]) == ("none", "unblock"), p
    assert "nothing to redo" in p.why, p.why


def _record_validation(target: str, day: dt.date, layer: str, status: str, code: str = "ZERO_ROWS") -> None:
    """A check's outcome as `dq validate` stores it (meta.dq_results), now."""
    from dbt_project.validate import DQ_RESULTS_DDL

    with Warehouse(target) as wh:
        wh.execute(DQ_RESULTS_DDL)
        p = ", ".join([wh.param] * 13)
        wh.execute(f"insert into meta.dq_results values ({p})",
                   [f"val-{time.time_ns()}", target, layer, day, f"{layer}.check", "t", 0, 0, status, code, None,
                    None, registry.now()])


def test_plan_reads_landings_validations_and_quarantined_rows_too(target, clean_extract, extract_factory):
    """Beyond the registry: a date landed by `dq ingest` alone is not a gap; a failed landing is replayed (re-land
    first, then the command); validation failing since the run holds the date and names its action; quarantined
    rows are escalated with `dq rejects`."""
    assert invoke("ingest", "--date", str(D1), "--source", str(clean_extract), "--target", target).exit_code == 0
    p = plan(target, D1)  # landed, nothing above LDZ built or validated since: build from the vault on
    assert (p.action, p.failed_layer, p.checklist["downstream_decision"]) == ("rerun", "rdv", "hold"), p
    assert "dq ingest" in p.why and p.command.startswith(f"dq rerun --date {D1} --layer rdv")
    assert "meta.ldz_files" in p.evidence and "no validation recorded" in p.checklist["checks_result"]
    _record_validation(target, D1, "publish", "PASS")
    assert (plan(target, D1).action, plan(target, D1).checklist["downstream_decision"]) == ("none", "unblock")
    suffix = "" if target == "dev" else f" --target {target}"
    assert plan(target, D1).then == [f"dq validate --layer all --date {D1}{suffix}"]  # one layer only so far
    for layer in ("ldz", "rdv", "ifl", "360"):
        _record_validation(target, D1, layer, "PASS")
    p = plan(target, D1)  # every layer validated since the landing, all passing: nothing left to recommend
    assert p.then == [] and "every layer validated since" in p.why, p
    _record_validation(target, D1, "publish", "FAIL")  # a newer validation of the layer fails
    p = plan(target, D1)
    assert (p.action, p.reason_code, p.failed_layer, p.checklist["downstream_decision"]) == (
        "rerun", "ZERO_ROWS", "publish", "hold"), p
    assert p.command == f"dq rerun --date {D1} --layer publish --reason ZERO_ROWS{suffix}"

    bad = extract_factory("checksum_mismatch")  # no run: the landing's own failure
    assert invoke("ingest", "--date", str(D2), "--source", str(bad), "--target", target).exit_code == 1
    p = plan(target, D2)
    assert (p.action, p.reason_code, p.failed_layer) == ("replay", "CHECKSUM_MISMATCH", "ingest"), p
    assert p.first and p.first[0].startswith("re-land") and "--layer ingest" in p.command
    text = invoke("plan", "--date", str(D2), "--target", target).output
    assert text.index("first: re-land") < text.index("command: dq rerun"), text

    bad = extract_factory("bad_number")  # quarantined rows (the last date): once built, the plan escalates them
    assert invoke("ingest", "--date", str(D2), "--source", str(bad), "--target", target).exit_code == 1
    _record_validation(target, D2, "publish", "PASS")
    p = plan(target, D2)
    assert (p.action, p.reason_code) == ("escalate", "BAD_VALUE") and p.then[0].startswith("dq rejects"), p
    assert "source team" in p.then[0] and "engineering" not in " ".join(p.then)

    with Warehouse(target) as wh:  # a run's ingest failed on the record count: replay, not a rerun of the same files
        registry.ensure_tables(wh)
        step = registry.Step("run", "run-rows", "run-rows", target, "ingest", D3, D3)
        step.status, step.reason_code = "failed", "ROW_COUNT_MISMATCH"
        registry.insert_step(wh, step)
    p = plan(target, D3)
    assert (p.action, p.failed_layer) == ("replay", "ingest") and "wrote no evidence file" in p.evidence, p
    time.sleep(1.1)  # landed again after that run (load times are in seconds): the landing is the news
    assert invoke("ingest", "--date", str(D3), "--source", str(clean_extract), "--target", target).exit_code == 0
    p = plan(target, D3)
    assert (p.action, p.failed_layer) == ("rerun", "rdv") and "after the latest run" in p.why, p


def test_plan_lands_from_the_dates_own_folder_and_answers_every_failed_file(target, extract_factory, tmp_path,
                                                                             monkeypatch):
    """Its commands read the folder the date was landed from (not the default data/extract); with several failed
    files the action that must come first wins and every file is named; quarantined rows are counted per code."""
    several = extract_factory("checksum_mismatch", "missing_column")
    assert invoke("ingest", "--date", str(D2), "--source", str(several), "--target", target).exit_code == 1
    p = plan(target, D2)  # a file the source must redesign is escalated before the file that only needs re-landing
    assert (p.action, p.reason_code) == ("escalate", "SCHEMA_MISMATCH"), p
    assert "ua_ccrunlog CHECKSUM_MISMATCH" in p.why and "ua_flowchart SCHEMA_MISMATCH" in p.why, p.why
    after_fix = next(line for line in p.then if "dq rerun" in line)
    assert after_fix.endswith(f" --source {several.resolve()}"), p.then

    one = extract_factory("checksum_mismatch")
    assert invoke("ingest", "--date", str(D2), "--source", str(one), "--target", target).exit_code == 1
    p = plan(target, D2)
    assert p.action == "replay" and p.command.endswith(f" --source {one.resolve()}"), p
    assert p.first[0].startswith(f"re-land {one.resolve()}/{D2}/"), p.first
    monkeypatch.setenv("DQ_SOURCE", str(tmp_path))  # the default root has no folder of D1
    p = plan(target, D1)  # never landed: backfilled from a root landed from before that holds the date
    assert p.action == "backfill" and p.command.endswith(f" --source {one.resolve()}"), p
    assert p.first[0].endswith(f" --source {one.resolve()}") and "--dry-run" in p.first[0], p.first
    assert " --source " not in plan(target, D3).command  # no root holds D3: the default, nothing invented

    quarantined = extract_factory("null_key", "bad_number")
    assert invoke("ingest", "--date", str(D2), "--source", str(quarantined), "--target", target).exit_code == 1
    _record_validation(target, D2, "publish", "PASS")
    p = plan(target, D2)
    with Warehouse(target) as wh:
        per_code = dict(wh.query("select reason_code, count(*) from ldz.ldz_rejects group by reason_code"))
    assert set(per_code) == {"BAD_VALUE", "NULL_KEY"}, per_code
    assert p.action == "escalate" and all(f"{c} {n}" in p.why for c, n in per_code.items()), p.why


def test_vault_rows_a_new_landing_no_longer_has_are_escalated_not_rerun(built_target, clean_extract, tmp_path):
    """A re-landing with fewer contacts leaves their rows in the insert-only vault: no rerun removes them."""
    import shutil

    from dbt_project import validate as v

    day = tmp_path / "src" / str(D3)
    shutil.copytree(clean_extract / str(D3), day)
    contacts = day / "ua_contacthistory.csv"
    lines = contacts.read_bytes().splitlines(keepends=True)
    contacts.write_bytes(b"".join(lines[:-5]))
    refresh_manifest_entry(day, "ua_contacthistory")
    assert invoke("ingest", "--date", str(D3), "--source", str(tmp_path / "src"), "--target", built_target
                  ).exit_code == 0
    run = v.validate(built_target, "ldz", D3, docs_dir=tmp_path / "docs")
    status = {r.check: r.status for r in run.results}
    assert status["ldz_ua_contacthistory.l_contact_rows_in_ldz"] == v.FAIL, status
    assert status["ldz_ua_contacthistory.reconciles_l_contact"] == v.PASS, status
    p = plan(built_target, D3)
    assert (p.action, p.reason_code) == ("escalate", "ROW_COUNT_MISMATCH") and "insert-only" in p.why, p
    assert p.command is None and "--layer ingest" in p.first[0] and "--layer rdv" not in " ".join(p.first + p.then)


def test_versions_of_responses_a_new_landing_no_longer_sends_again_are_escalated(built_target, clean_extract,
                                                                                 tmp_path):
    """D3 sent D2's responses again, corrected, and was built; then D3 is landed again without them. Their
    corrected versions stay current in the insert-only vault: validation names them, plan escalates."""
    import shutil

    from dbt_project import validate as v
    from dbt_project.build import build

    src = tmp_path / "src"
    shutil.copytree(clean_extract / str(D3), src / str(D3))
    again = [corrected_response(r, "3", "55.00") for r in response_rows(clean_extract, D2)]
    assert again
    rewrite_extract_file(src / str(D3), "ua_responsehistory", response_rows(src, D3) + again)
    assert invoke("ingest", "--date", str(D3), "--source", str(src), "--target", built_target).exit_code == 0
    assert build(built_target, D3, D3).success

    def ldz_status() -> dict[str, str]:
        run = v.validate(built_target, "ldz", D3, docs_dir=tmp_path / "docs")
        return {r.check: r.status for r in run.results if r.check.startswith("ldz_ua_responsehistory.")}

    assert set(ldz_status().values()) == {v.PASS}
    assert invoke("ingest", "--date", str(D3), "--source", str(clean_extract), "--target", built_target
                  ).exit_code == 0
    status = ldz_status()
    assert status.pop("ldz_ua_responsehistory.s_response_details_rows_in_ldz") == v.FAIL
    assert set(status.values()) == {v.PASS}, status
    p = plan(built_target, D3)
    assert (p.action, p.reason_code) == ("escalate", "ROW_COUNT_MISMATCH") and "s_response_details" in p.why, p


def test_plan_reads_the_outcome_a_run_could_not_record_from_its_evidence(target, tmp_path):
    """A run that lost the warehouse leaves `running` rows; its evidence file has the outcome: not 'died'."""
    empty = tmp_path / "no_extract"
    empty.mkdir()
    assert invoke("run", "--date", str(D3), "--source", str(empty), "--target", target).exit_code == 1
    with Warehouse(target) as wh:  # what the rows look like when the end could not be written
        wh.execute("update meta.etl_runs set status = 'running', reason_code = null, err_msg = null")
    p = plan(target, D3)
    assert (p.action, p.reason_code, p.failed_layer) == ("replay", "MISSING_FILE", "ingest"), p
    assert "registry still says `running`" in p.why, p.why


def test_the_latest_landing_of_a_date_is_the_last_loaded_even_the_next_day(target, extract_factory):
    """Load ids carry the time of day, not the day: a date landed at 23:00 and again the next morning at 01:00
    has the older load under the larger id. The latest landing (plan, run evidence, backfill's dry run) is the
    last loaded."""
    clean, bad = extract_factory(), extract_factory("checksum_mismatch")
    assert invoke("ingest", "--date", str(D2), "--source", str(clean), "--target", target).exit_code == 0
    assert invoke("ingest", "--date", str(D2), "--source", str(bad), "--target", target).exit_code == 1
    with Warehouse(target) as wh:
        (first,), (second,) = wh.query("select distinct load_id from meta.ldz_files order by 1")
        late, early = ("20260102-230000-0000000000", "20260102-010000-0000000000")
        p = wh.param
        for old, new, shift in ((first, late, 0), (second, early, 1)):  # the second landing: the next morning
            wh.execute(f"update meta.ldz_files set load_id = {p}, loaded_at = {p} where load_id = {p}",
                       [new, dt.datetime(2026, 11, 23 + shift, 1 if shift else 23), old])
    assert plan(target, D2).reason_code == "CHECKSUM_MISMATCH"  # the morning's failed landing, not the evening's
    files = {f["table"]: f for f in ops.backfill_plan(target, D2, D2, bad)["dates"][0]["files"]}
    # the morning's landing recorded the damaged file's own sha256 (the evening's had the clean file's)
    damaged = files["ua_ccrunlog"]
    assert damaged["landed_sha256"] == damaged["file_sha256"] != damaged["sha256"], damaged
    assert damaged["state"] == "checksum_mismatch" and files["customer"]["state"] == "same", files


# --- date control, dq runs ------------------------------------------------------------------------------

def test_date_control_sets_the_window_a_plain_dbt_build_reads(target):
    assert invoke("dates", "set", "2026-01-02", "--target", target).exit_code == 0
    assert invoke("dates", "advance", "--target", target).exit_code == 0
    doc = json.loads(invoke("dates", "show", "--target", target, "--json").output)
    assert doc == {"target": target, "current_business_date": "2026-01-03", "load_window": ["2026-01-03"] * 2,
                   "as_of_date": None, "published_as_of_date": None}  # nothing published yet
    from dbt_project.health import date_control_current

    with Warehouse(target) as wh:  # the healthcheck / smoke read the same row
        assert date_control_current(wh, target) == D3


def test_the_extract_root_comes_from_dq_source_for_every_command_and_its_former_name_is_refused(
        target, clean_extract, tmp_path, monkeypatch):
    monkeypatch.setenv("DQ_SOURCE", str(clean_extract))
    result = invoke("ingest", "--date", str(D1), "--target", target, "--json")
    assert result.exit_code == 0 and json.loads(result.output)["source"] == str(clean_extract / str(D1)), result.output
    assert ops.source_root(None) == clean_extract  # what run, rerun and backfill read when --source is not given
    monkeypatch.setenv("DQ_SOURCE", str(tmp_path / "nowhere"))
    result = invoke("run", "--date", str(D1), "--to-layer", "ingest", "--target", target)
    assert result.exit_code == 2 and "nowhere does not exist" in result.output, result.output
    monkeypatch.delenv("DQ_SOURCE")
    monkeypatch.setenv("DQ_SOURCE_ROOT", str(clean_extract))  # the variable's former name: said, not ignored
    for args in (["ingest", "--date", str(D1)], ["run", "--date", str(D1), "--to-layer", "ingest"]):
        result = invoke(*args, "--target", target)
        assert result.exit_code == 2 and "DQ_SOURCE_ROOT is no longer read" in result.output, result.output


def test_runs_lists_the_registry(target, tmp_path, monkeypatch):
    empty = tmp_path / "none"
    empty.mkdir()
    before = invoke("runs", "--date", "2026-01-07", "--target", target)  # nothing recorded for it yet
    assert before.exit_code == 0 and "No runs recorded for 2026-01-07: `dq run`" in before.output, before.output
    invoke("run", "--date", "2026-01-07", "--source", str(empty), "--target", target, "--to-layer", "rdv")
    rows = json.loads(invoke("runs", "--date", "2026-01-07", "--target", target, "--json").output)
    assert sorted((r["layer"], r["status"]) for r in rows) == [("ingest", "failed"), ("rdv", "skipped")]
    time.sleep(1)  # registry times have whole seconds: two runs in one second have no order
    invoke("run", "--date", "2026-01-08", "--source", str(empty), "--target", target, "--to-layer", "rdv")
    newest = json.loads(invoke("runs", "--last", "1", "--target", target, "--json").output)  # runs, not rows
    assert sorted((r["from_date"], r["layer"]) for r in newest) == [("2026-01-08", "ingest"), ("2026-01-08", "rdv")]
    assert len(json.loads(invoke("runs", "--last", "2", "--target", target, "--json").output)) == 4
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: each step on one line, its message under it
    lines = invoke("runs", "--last", "2", "--target", target).output.splitlines()
    assert [[cell.strip() for cell in ln.split("│")[1:5]] for ln in lines if "MISSING_FILE" in ln and "│" in ln] == [
        ["ingest", "2026-01-08", "failed", "MISSING_FILE"], ["ingest", "2026-01-07", "failed", "MISSING_FILE"]]
    assert [ln for ln in lines if ln.startswith("  ingest")] == [
        f"  ingest {day}: no extract folder {empty / day}: nothing loaded" for day in ("2026-01-08", "2026-01-07")]


def test_validate_writes_evidence_valid_against_the_schema(built_target, evidence_dir):
    result = invoke("validate", "--layer", "rdv", "--date", str(D3), "--target", built_target, "--json")
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.output)["run_id"]
    doc = validate_evidence(evidence_dir / f"{run_id}.json")
    assert doc["job"] == "validate" and doc["dq_summary"]["ok"] and doc["downstream_decision"] == "unblock"
    assert sum(doc["dq_summary"]["layers"]["rdv"]["checks"].values()) > 0
