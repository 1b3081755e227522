"""The Snowflake target on its emulator (fakesnow, in-process): the same dbt project builds every layer
on dbt-snowflake and gives the vault and the 360 numbers the DuckDB build gives for the same LDZ rows;
`dq`'s warehouse connection and `dq validate` (GX through snowflake-sqlalchemy) run against it, `dq run` and
`dq backfill` load the extract end to end, the operations (dates, alerts, healthcheck, smoke, ml score
and the ml layer's build, rerun, runs, plan, backfill --dry-run, release) run on copies of the session's build,
each with a failure path, and so does the Airflow DAG for a business date.

How the emulator is reached: `fakesnow.patch(db_path=...)` replaces `snowflake.connector.connect` in
this process, so everything that connects through the connector in-process reaches it — dq's `Warehouse`,
dbt-snowflake (dbt runs in-process) and GX's SQLAlchemy engine (snowflake-sqlalchemy calls the
connector's `connect`). A separate process gets the same patch through fakesnow's CLI (`python -m fakesnow
-d <files> -m dbt_project.cli ...`): the Airflow DAG's test runs each `dq` step that way. (fakesnow's server
mode is not used: its COPY INTO from a stage, which dq's Snowflake ingest uses, fails there.) If fakesnow
cannot start, these tests fail (an import or connection error), they never skip.

The LDZ is copied from the built DuckDB warehouse into the emulator, then `dbt seed` and `dbt build`
run with `--target snowflake` once per session; each test works on a private copy of the emulator's
database files. dbt unit tests are excluded on the emulator (fakesnow cannot create the temporary
tables dbt-snowflake's unit-test fixtures need); they run on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_airflow_dag import airflow_home as airflow_home  # a fixture: the DAG test at the end uses it

from dbt_project import dbt
from dbt_project import validate as v
from dbt_project.cli import main
from dbt_project.warehouse import ConnectionFailed, Warehouse

SNOWFLAKE_ENV = {"SNOWFLAKE_ACCOUNT": "emulator", "SNOWFLAKE_USER": "cdm", "SNOWFLAKE_PASSWORD": "emulator",
                 "SNOWFLAKE_DATABASE": "CDM"}
COPIED = ("ldz", "meta.load_window", "meta.ldz_files", "cdm_ingest.ml_customer_scores",
          "cdm_ingest.ml_model_runs")
LAYERS = ("staging", "rdv", "ifl", "c360", "cdm_publish")
D1, D2, D3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)


@contextlib.contextmanager
def emulator(db_dir: Path):
    """The Snowflake emulator on the database files in `db_dir`, for everything in this process."""
    import fakesnow

    with fakesnow.patch(db_path=str(db_dir)):
        yield


def _set_env(mp: pytest.MonkeyPatch, gx_dir: Path) -> None:
    for k, val in SNOWFLAKE_ENV.items():
        mp.setenv(k, val)
    for k in ("SNOWFLAKE_HOST", "SNOWFLAKE_PORT", "SNOWFLAKE_PROTOCOL"):
        mp.delenv(k, raising=False)
    mp.setenv("DQ_GX_DIR", str(gx_dir))  # GX adds the `snowflake` datasource to its file context: not the repo's


@pytest.fixture(scope="session")
def gx_dir(tmp_path_factory) -> Path:
    """A private GX file context (the emulator's datasource is added to it, not to the session's)."""
    from conftest import private_gx_context

    return private_gx_context(tmp_path_factory.mktemp("ge"))


def _copy_landing_zone(source: Warehouse, cur) -> int:
    """Create and fill the LDZ tables, the load window, the file log and the ML write-back source."""
    tables = [("ldz", t) for (t,) in source.query(
        "select table_name from information_schema.tables where table_schema = 'ldz' order by 1")]
    tables += [tuple(t.split(".")) for t in COPIED[1:]]
    copied = 0
    for schema, table in tables:
        cols = source.query("select column_name, data_type from information_schema.columns "
                            f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position")
        cur.execute(f"create schema if not exists CDM.{schema}")
        cur.execute(f"create table CDM.{schema}.{table} ({', '.join(f'{c} {t}' for c, t in cols)})")
        rows = source.query(f"select * from {schema}.{table}")
        if rows:
            cur.executemany(f"insert into CDM.{schema}.{table} values ({', '.join(['%s'] * len(cols))})", rows)
        copied += len(rows)
    return copied


def _facts(query) -> dict[str, object]:
    """What must agree between engines: every vault table's rows, the customer hash keys, the 360 totals."""
    out: dict[str, object] = {}
    for (t,) in query("select table_name from information_schema.tables where lower(table_schema) = 'rdv'"):
        out[f"rdv.{t.lower()}"] = query(f"select count(*) from rdv.{t}")[0][0]
    out["customer_hk"] = sorted(r[0] for r in query("select customer_hk from rdv.h_customer"))
    out["customer_360"] = tuple(int(v) for v in query(
        "select count(*), sum(contacts_total), sum(contacts_30d), sum(responses_total), "
        "cast(sum(revenue_total) * 100 as bigint) from c360.customer_360")[0])
    out["campaign_360"] = tuple(int(v) for v in query(
        "select count(*), sum(contacts), sum(unique_customers_contacted), sum(responses), sum(control_contacts), "
        "cast(sum(revenue) * 100 as bigint) from cdm_publish.campaign_360_v1")[0])
    out["flowchart_360"] = tuple(int(v) for v in query(
        "select count(*), sum(execution_count), sum(failed_runs), sum(contacts) from cdm_publish.flowchart_360_v1")[0])
    return out


@pytest.fixture(scope="session")
def snowflake_template(request, tmp_path_factory, built_templates, gx_dir):
    """The emulator's database files after the DuckDB build's LDZ was copied in and every dbt layer was
    seeded and built with --target snowflake (once per session); with the DuckDB build's facts."""
    db = tmp_path_factory.mktemp("snowflake")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DQ_DUCKDB_PATH", str(built_templates("duckdb", request)))
        with Warehouse("dev") as wh:
            expected = _facts(wh.query)
            _set_env(mp, gx_dir)
            with emulator(db):
                import snowflake.connector

                con = snowflake.connector.connect(database="CDM", schema="PUBLIC")
                copied = _copy_landing_zone(wh, con.cursor())
                con.close()
        assert copied > 1000
        with emulator(db):
            seeded = dbt.run(dbt.build_argv("seed", target="snowflake", extra=["--quiet"]))
            assert seeded.success, seeded.error
            built = dbt.run(dbt.build_argv("build", target="snowflake", select=LAYERS, exclude=["test_type:unit"],
                                           extra=["--quiet"]))
            assert built.success, [(n["name"], n["message"]) for n in built.failed_nodes] or built.error
            assert any(n["resource_type"] == "test" for n in built.nodes)
    return db, expected


@pytest.fixture
def snowflake_target(snowflake_template, gx_dir, tmp_path, monkeypatch) -> str:
    """A private copy of the session's built emulator warehouse (corrupt it freely), reached in this process
    by the `snowflake` target; returns the target name."""
    db = tmp_path / "snowflake"
    shutil.copytree(snowflake_template[0], db)
    _set_env(monkeypatch, gx_dir)
    with emulator(db):
        yield "snowflake"


# --- dbt -------------------------------------------------------------------------------------------

def test_every_layer_builds_on_the_snowflake_emulator_and_matches_duckdb(snowflake_template, snowflake_target):
    with Warehouse(snowflake_target) as wh:
        assert _facts(wh.query) == snowflake_template[1]
    argv = dbt.build_argv("build", target="snowflake", select=LAYERS, exclude=["test_type:unit"], extra=["--quiet"])
    again = dbt.run(argv)  # a rerun of the same window: insert-only vault, nothing added
    assert again.success, [(n["name"], n["message"]) for n in again.failed_nodes] or again.error
    with Warehouse(snowflake_target) as wh:
        assert _facts(wh.query) == snowflake_template[1]


# --- dq's connection -------------------------------------------------------------------------------

def test_warehouse_connects_queries_and_keeps_transactions_on_the_emulator(tmp_path, gx_dir, monkeypatch):
    _set_env(monkeypatch, gx_dir)
    with emulator(tmp_path), Warehouse("snowflake") as wh:
        assert wh.engine == "snowflake" and wh.param == "%s"
        wh.execute("create schema if not exists meta")
        wh.execute("create table meta.probe (id bigint, label varchar, day date)")
        assert wh.table_exists("meta", "probe") and wh.table_exists("META", "PROBE")
        assert not wh.table_exists("meta", "absent")
        wh.executemany("insert into meta.probe values (%s, %s, %s)", [(1, "a", D1), (2, None, D3)])
        assert wh.query("select id, label, day from meta.probe where id >= %s order by id", [1]) == [
            (1, "a", D1), (2, None, D3)]
        columns, rows = wh.query_with_columns("select id, label as Label_Mixed from meta.probe where id = 2")
        assert columns == ["id", "label_mixed"] and rows == [(2, None)]
        with wh.transaction():
            wh.execute("insert into meta.probe values (3, 'c', null)")
        with pytest.raises(RuntimeError), wh.transaction():
            wh.execute("insert into meta.probe values (4, 'd', null)")
            raise RuntimeError("abort")
        assert wh.scalar("select listagg(id, ',') within group (order by id) from meta.probe") == "1,2,3"


def _closed_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_snowflake_is_a_connection_error(gx_dir, monkeypatch):
    _set_env(monkeypatch, gx_dir)
    for k, val in {"SNOWFLAKE_HOST": "127.0.0.1", "SNOWFLAKE_PORT": str(_closed_port()),
                   "SNOWFLAKE_PROTOCOL": "http", "SNOWFLAKE_CONNECT_TIMEOUT": "2"}.items():
        monkeypatch.setenv(k, val)
    with pytest.raises(ConnectionFailed, match="cannot connect to Snowflake"):
        Warehouse("snowflake")
    res = CliRunner().invoke(main, ["validate", "--layer", "rdv", "--date", "2026-01-01", "--target", "snowflake"])
    assert res.exit_code == 2 and "CONNECTIVITY" in res.output, res.output


# --- dq validate (GX through snowflake-sqlalchemy) -------------------------------------------------

def test_validate_passes_every_layer_on_the_emulator_and_stores_results(snowflake_target, tmp_path):
    run = v.validate(snowflake_target, "all", docs_dir=tmp_path)
    assert run.business_date == D3  # default: the latest landed date (meta.ldz_files)
    assert run.ok, [(r.check, r.observed, r.error) for r in run.failed + run.errors]
    assert not run.not_built and set(run.layers) == set(v.LAYERS)
    assert len(run.results) == sum(len(v.load_suite(layer).checks) for layer in v.LAYERS)
    with Warehouse(snowflake_target) as wh:
        stored = wh.query("select status, business_date from meta.dq_results where run_id = %s", [run.run_id])
        plain = {name: n for layer in v.LAYERS
                 for name, n in v.run_plain_sql(wh, v.load_suite(layer), run.business_date).items()}
    assert len(stored) == len(run.results) and {s for s, _ in stored} == {"PASS"}
    assert {d for _, d in stored} == {D3}
    assert set(plain.values()) == {0}
    assert v.validate(snowflake_target, "rdv", D1, docs_dir=tmp_path).ok  # date-scoped: an earlier date


def test_dq_docs_builds_the_offline_site_on_the_emulator(snowflake_target, tmp_path):
    """`dq docs` there: dbt's static lineage site (manifest and the emulator's catalog inlined) and the Data
    Docs of a validation run on the emulator, linked from one index. The emulator's catalog lacks the eight
    views (the IFL views among them): its information_schema.tables does not list views (information_schema.
    columns does), and dbt-snowflake builds the catalog from both; the site still shows them from the
    manifest. (The ml layer's ml_score_rejects is missing too only because this warehouse was built
    without the ml layer: LAYERS.)"""
    from dbt_project.health import dbt_target_path
    from dbt_project.site import build_site

    run = v.validate(snowflake_target, "publish", D3, docs_dir=tmp_path / "dd")
    res = build_site(snowflake_target, tmp_path / "site", data_docs_dir=tmp_path / "dd")
    index = res.index.read_text()
    assert 'href="lineage/index.html"' in index and f'href="data_docs/{run.run_id}.html"' in index
    assert (tmp_path / "site" / "data_docs" / f"{run.run_id}.html").exists()
    lineage = res.lineage.read_text()
    assert "customer_360_v1" in lineage and "ldz_ua_contacthistory" in lineage
    catalog = json.loads((dbt_target_path() / "catalog.json").read_text())  # what the site inlined
    for node in ("model.cdm.pub_customer_360.v1", "model.cdm.customer_360", "model.cdm.l_contact"):
        assert catalog["nodes"][node]["columns"], node  # the publish view, a 360 table, a vault link
    assert '"model.cdm.pub_customer_360.v1": {"metadata"' in lineage


def _corruptions() -> dict:
    from test_validate import CORRUPTIONS  # the same corruptions as on DuckDB and PostgreSQL

    return CORRUPTIONS


@pytest.mark.parametrize("name", sorted(_corruptions()))
def test_each_corruption_fails_its_check_on_the_emulator(snowflake_target, tmp_path, name):
    layer, day, statements, check, reason = _corruptions()[name]
    with Warehouse(snowflake_target) as wh:
        for sql in statements:
            wh.execute(sql)
    run = v.validate(snowflake_target, layer, day, max_failing_rows=5, docs_dir=tmp_path)
    failed = {r.check: r.reason_code for r in run.failed}
    assert failed.get(check) == reason, (failed, [(r.check, r.error) for r in run.errors])
    res = next(r for r in run.results if r.check == check)
    assert res.observed >= 1 and res.failing_rows and len(res.failing_rows) <= 5
    with Warehouse(snowflake_target) as wh:
        plain = v.run_plain_sql(wh, v.load_suite(layer), day)
        stored = wh.query("select status, reason_code, failing_rows from meta.dq_results where run_id = %s "
                          "and check_name = %s", [run.run_id, check])
    assert {r.check: r.observed for r in run.results} == plain
    assert stored[0][0] == "FAIL" and stored[0][1] == reason and json.loads(stored[0][2])
    if name != "ldz_key_missing_from_hub":  # a missing hub row also fails every other table naming that key
        assert set(failed) == {check}, failed


def test_dq_validate_cli_on_the_emulator(snowflake_target):
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", "--layer", "all", "--target", snowflake_target, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    with Warehouse(snowflake_target) as wh:
        wh.execute("insert into rdv.h_offer select * from rdv.h_offer where offer_hk = "
                   "(select min(offer_hk) from rdv.h_offer where business_date = '2026-01-01')")
    bad = runner.invoke(main, ["validate", "--layer", "rdv", "--date", "2026-01-01", "--target", snowflake_target])
    assert bad.exit_code == 1, bad.output
    assert "DUPLICATE_KEY" in bad.output and "h_offer.key_unique" in bad.output


# --- the date lock and dq run (meta tables, ingest, dbt, validate, evidence) ------------------------

def test_date_lock_is_one_run_per_date_and_a_dead_owner_is_taken_over(target_env):
    import subprocess

    from dbt_project import registry

    target = target_env("snowflake")
    first, second = registry.DateLock(target, "snowflake", D1), registry.DateLock(target, "snowflake", D1)
    assert first.try_acquire()
    assert not second.try_acquire() and not second.is_free()
    other_day = registry.DateLock(target, "snowflake", D3)
    assert other_day.try_acquire()
    other_day.release()
    first.release()
    assert second.try_acquire()
    second.release()
    gone = subprocess.Popen(["true"])  # a process of this host that has ended
    gone.wait()
    with Warehouse(target) as wh:
        wh.execute("insert into meta.etl_date_locks values (%s, %s, %s, %s, current_timestamp())",
                   [target, D1, registry.host(), gone.pid])
    taker = registry.DateLock(target, "snowflake", D1)
    assert taker.try_acquire()  # its owner is dead: taken over
    with Warehouse(target) as wh:
        assert wh.query("select pid from meta.etl_date_locks where business_date = %s", [D1]) == [(os.getpid(),)]
    taker.release()
    with Warehouse(target) as wh:
        assert wh.scalar("select count(*) from meta.etl_date_locks") == 0


def test_dq_run_and_backfill_end_to_end_on_the_emulator(snowflake_template, target_env, clean_extract, tmp_path,
                                                         gx_dir, monkeypatch):
    """`dq run` for the first date, then `dq backfill` for the other two on the emulator — ingest, registry,
    lock, one dbt build of the layers (one for the backfill's range), evidence — gives the vault and 360
    numbers of the DuckDB build of the same extract, and validates clean.
    dbt unit tests are excluded through dbt's own DBT_EXCLUDE_RESOURCE_TYPES (an emulator limit)."""
    from conftest import BUILT_DATES

    target = target_env("snowflake")
    monkeypatch.setenv("DQ_GX_DIR", str(gx_dir))
    monkeypatch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    runner = CliRunner()
    res = runner.invoke(main, ["run", "--date", BUILT_DATES[0], "--target", target, "--source", str(clean_extract),
                               "--to-layer", "publish", "--json"])
    assert res.exit_code == 0, res.output[-3000:]
    assert json.loads(res.stdout)["downstream_decision"] == "unblock"
    res = runner.invoke(main, ["backfill", "--from", BUILT_DATES[1], "--to", BUILT_DATES[2], "--target", target,
                               "--source", str(clean_extract), "--json"])
    assert res.exit_code == 0, res.output[-3000:]
    doc = json.loads(res.stdout)
    assert doc["job"] == "backfill" and doc["downstream_decision"] == "unblock", doc
    with Warehouse(target) as wh:
        assert _facts(wh.query) == snowflake_template[1]
        steps = wh.query("select job, layer, from_date, to_date, status from meta.etl_runs where job = 'backfill' "
                         "order by layer, from_date")
        assert steps == [("backfill", "360", D2, D3, "success"), ("backfill", "ifl", D2, D3, "success"),
                         ("backfill", "ingest", D2, D2, "success"), ("backfill", "ingest", D3, D3, "success"),
                         ("backfill", "publish", D2, D3, "success"), ("backfill", "rdv", D2, D3, "success")], steps
        steps = wh.query("select layer, status from meta.etl_runs where job = 'run' and from_date = %s", [D1])
        assert {layer for layer, _ in steps} == {"ingest", "rdv", "ifl", "360", "publish"}, steps
        assert {status for _, status in steps} == {"success"}, steps
        assert wh.scalar("select count(*) from meta.etl_date_locks") == 0  # released
    runs = runner.invoke(main, ["runs", "--date", "2026-01-03", "--target", target, "--json"])
    assert runs.exit_code == 0, runs.output
    assert {r["layer"] for r in json.loads(runs.stdout)} == {"ingest", "rdv", "ifl", "360", "publish"}
    assert len(list((tmp_path / "evidence").glob("*.json"))) == 2
    checked = runner.invoke(main, ["validate", "--layer", "all", "--target", target, "--json"])
    assert checked.exit_code == 0, checked.output[-3000:]


# --- operations on the built emulator warehouse: dates, alerts, healthcheck, smoke, ml, rerun, plan, runs,
# backfill, release (each on a private copy of the session's build; no further full build) -------------


def _cli(*args: str):
    return CliRunner().invoke(main, [*args, "--target", "snowflake"])


def _doc(res):
    """The --json document of a dq command (dbt prints a failed node's error lines before it, even --quiet)."""
    out = res.stdout
    start = min((i for i in (out.find("\n{"), out.find("\n[")) if i >= 0), default=-1) + 1 \
        if not out.startswith(("{", "[")) else 0
    assert out[start:].strip(), res.output
    return json.loads(out[start:])


def _publish_state(wh) -> dict[str, tuple[int, str]]:
    """Every cdm_publish relation's row count and content hash (what consumers see)."""
    from dbt_project import release

    return {name: release.content_hash(wh, f"cdm_publish.{name}") for name in release.relations(wh)}


def test_dq_dates_show_set_advance_on_the_emulator(snowflake_target):
    shown = _cli("dates", "show", "--json")
    assert shown.exit_code == 0, shown.output
    assert _doc(shown)["current_business_date"] is None  # the session's build was loaded by dbt, not dq
    refused = _cli("dates", "advance")
    assert refused.exit_code == 2 and "no current business date" in refused.output, refused.output
    done = _cli("dates", "set", "2026-01-02", "--json")
    assert done.exit_code == 0, done.output
    assert _doc(done) == {"target": "snowflake", "current_business_date": "2026-01-02",
                          "load_window": ["2026-01-02", "2026-01-02"],
                          "as_of_date": "2026-01-03",
                          "published_as_of_date": "2026-01-03"}  # Customer 360 is published as of D3
    moved = _cli("dates", "advance", "--json")
    assert moved.exit_code == 0, moved.output
    assert _doc(moved)["current_business_date"] == "2026-01-03"
    with Warehouse(snowflake_target) as wh:
        assert wh.query("select target, current_business_date from meta.etl_date_control") == [("snowflake", D3)]
        assert wh.query("select from_date, to_date, as_of_date from meta.load_window") == [(D3, D3, D3)]
    assert _doc(_cli("dates", "--json"))["load_window"] == ["2026-01-03", "2026-01-03"]


def test_dq_alerts_check_records_zero_rows_and_anomaly_on_the_emulator(snowflake_target):
    clean = _cli("alerts", "check", "--date", "2026-01-03", "--no-notify", "--json")
    assert clean.exit_code == 0, clean.output
    findings = _doc(clean)["findings"]
    zero = {f["table"]: f["status"] for f in findings if f["check"] == "zero_rows"}
    assert set(zero.values()) == {"OK"} and len(zero) == 6, zero
    revenue = {f["table"].lower(): f["status"] for f in findings if f["check"] == "negative_revenue"}
    assert "cdm_publish.campaign_360_v1" in revenue and set(revenue.values()) == {"OK"}, revenue
    assert _doc(_cli("alerts", "--json")) == []
    with Warehouse(snowflake_target) as wh:
        wh.execute("delete from rdv.l_contact where business_date = %s", [D3])
        wh.execute("update cdm_publish.campaign_360_v1 set revenue = -1 where campaign_id = "
                   "(select min(campaign_id) from cdm_publish.campaign_360_v1)")
    bad = _cli("alerts", "check", "--date", "2026-01-03", "--no-notify", "--json")
    assert bad.exit_code == 1, bad.output
    recorded = {(a["kind"], a["reason_code"], a["table_name"].lower()) for a in _doc(bad)["alerts"]}
    assert ("ZERO_ROWS", "ZERO_ROWS", "rdv.l_contact") in recorded, recorded
    assert ("ANOMALY", "ANOMALY", "cdm_publish.campaign_360_v1") in recorded, recorded
    again = _cli("alerts", "check", "--date", "2026-01-03", "--no-notify", "--json")
    assert again.exit_code == 1 and _doc(again)["alerts"] == [] and _doc(again)["already_recorded"] == len(recorded)
    manual = _cli("alerts", "record", "--kind", "RUN_FAILED", "--reason", "TRANSFORM_ERROR", "--message",
                  "publish failed", "--date", "2026-01-03", "--run-id", "r1", "--json")
    assert manual.exit_code == 0, manual.output
    listed = _cli("alerts", "--date", "2026-01-03", "--json")
    assert listed.exit_code == 0, listed.output
    assert sorted(a["kind"] for a in _doc(listed)) == sorted(["RUN_FAILED", *(k for k, _, _ in recorded)])
    with Warehouse(snowflake_target) as wh:
        assert wh.scalar("select count(*) from meta.etl_alerts where business_date = %s and sent = false",
                         [D3]) == len(recorded) + 1
    assert _cli("alerts", "record", "--kind", "RUN_FAILED", "--reason", "NOT_A_CODE", "--message", "x").exit_code == 2


def test_dq_healthcheck_on_the_emulator(snowflake_target):
    ok = _cli("healthcheck", "--date", "2026-01-03", "--json")
    assert ok.exit_code == 0, ok.output
    checks = _doc(ok)["checks"]
    fresh = [c for c in checks if c["check"] == "source_freshness"]
    assert fresh and {c["status"] for c in fresh} == {"OK"}, fresh
    ages = {c["subject"]: c["status"] for c in checks if c["check"] == "table_age"}
    assert len(ages) == 6 and set(ages.values()) == {"OK"}, ages
    assert any(c["check"] == "negative_amounts" for c in checks)
    with Warehouse(snowflake_target) as wh:
        wh.execute("drop table cdm_publish.flowchart_360_v1")
    bad = _cli("healthcheck", "--date", "2026-01-03", "--no-freshness", "--json")
    assert bad.exit_code == 1, bad.output
    doc = _doc(bad)
    assert doc["reason_codes"] == ["ZERO_ROWS"]
    assert [c["subject"] for c in doc["checks"] if c["status"] == "BREACH"] == ["cdm_publish.flowchart_360_v1"]


def test_dq_smoke_passes_read_only_and_fails_on_a_dropped_publish_table(snowflake_target, tmp_path, monkeypatch):
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    with Warehouse(snowflake_target) as wh:
        before = _publish_state(wh)
    ok = _cli("smoke", "--json")
    assert ok.exit_code == 0, ok.output[-3000:]
    doc = _doc(ok)
    assert doc["ok"] and doc["business_date"] == "2026-01-03", doc
    assert {c["name"]: c["status"] for c in doc["checks"]} == {
        "parse": "PASS", "compile": "PASS", "connection": "PASS", "publish_contracts": "PASS",
        "release_compat": "SKIPPED", "date_control": "SKIPPED", "publish_validation": "PASS"}
    with Warehouse(snowflake_target) as wh:
        assert _publish_state(wh) == before  # read-only
        wh.execute("drop table cdm_publish.campaign_360_v1")
    bad = _cli("smoke", "--json")
    assert bad.exit_code == 1, bad.output[-3000:]
    doc = _doc(bad)
    assert doc["reason_code"] == "SMOKE_FAILED"
    assert "publish_contracts" in doc["failed_checks"] and "campaign_360_v1" in json.dumps(doc["checks"])
    evidence = json.loads(Path(doc["evidence"]).read_text())
    assert evidence["reason_code"] == "SMOKE_FAILED" and evidence["downstream_decision"] == "hold"


def test_dq_ml_score_and_the_ml_layer_build_on_the_emulator(snowflake_target, monkeypatch):
    res = _cli("ml", "score", "--date", "2026-01-03", "--json")
    assert res.exit_code == 0, res.output[-3000:]
    runs = {r["model_name"]: r for r in _doc(res)["runs"]}
    assert set(runs) == {"response_propensity", "response_propensity_gbm"}
    with Warehouse(snowflake_target) as wh:
        customers = wh.scalar("select count(*) from cdm_publish.customer_360_v1")
        scored = dict(wh.query("select model_name, count(*) from cdm_ingest.ml_customer_scores "
                               "where business_date = %s group by model_name", [D3]))
        assert scored == {m: customers for m in runs} and all(r["scored_rows"] == customers for r in runs.values())
        assert wh.scalar("select count(*) from cdm_ingest.ml_customer_scores where business_date = %s "
                         "and (score < 0 or score > 1 or decile not between 1 and 10)", [D3]) == 0
        assert wh.scalar("select count(*) from cdm_ingest.ml_model_runs where business_date = %s", [D3]) == 2
    again = _cli("ml", "score", "--date", "2026-01-03", "--model", "response_propensity", "--json")
    assert again.exit_code == 0, again.output[-3000:]
    with Warehouse(snowflake_target) as wh:  # the model's slice of the date is replaced, not appended
        assert wh.scalar("select count(*) from cdm_ingest.ml_customer_scores where business_date = %s", [D3]) == \
            2 * customers
    stale = _cli("ml", "score", "--date", "2026-01-05")  # published only through 2026-01-03
    assert stale.exit_code == 2, stale.output

    # the ml layer's dbt build (what `dq run` does after scoring): the vault ingests the scores and
    # Customer 360 carries them to the publish layer
    from dbt_project.build import build

    monkeypatch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")  # an emulator limit (module docstring)
    built = build("snowflake", D3, D3, select=["tag:ml+"])
    assert built.success, [(n["name"], n["message"]) for n in built.failed_nodes] or built.error
    with Warehouse(snowflake_target) as wh:
        assert wh.scalar("select count(distinct customer_hk) from rdv.s_customer_ml_score "
                         "where model_name = 'response_propensity'") == customers
        assert wh.scalar("select count(response_propensity_score) from cdm_publish.customer_360_v1") == customers


def test_dq_rerun_runs_plan_and_run_failed_on_the_emulator(snowflake_target, tmp_path, monkeypatch):
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
    ok = _cli("rerun", "--date", "2026-01-03", "--layer", "publish", "--to-layer", "publish", "--json")
    assert ok.exit_code == 0, ok.output[-3000:]
    doc = _doc(ok)
    assert doc["downstream_decision"] == "unblock", doc
    planned = _cli("plan", "--date", "2026-01-03", "--json")
    assert planned.exit_code == 0 and _doc(planned)["action"] == "none", planned.output
    with Warehouse(snowflake_target) as wh:
        wh.execute("drop table c360.campaign_360")  # what publish reads
    bad = _cli("rerun", "--date", "2026-01-03", "--layer", "publish", "--to-layer", "publish", "--json")
    assert bad.exit_code == 1, bad.output[-3000:]
    assert _doc(bad)["downstream_decision"] == "hold"
    runs = _cli("runs", "--date", "2026-01-03", "--json")
    assert runs.exit_code == 0, runs.output
    rows = [(r["job"], r["layer"], r["status"], r["reason_code"], r["run_reason"]) for r in _doc(runs)]
    assert rows == [("rerun", "publish", "failed", "TRANSFORM_ERROR", "OPERATOR_REQUEST"),
                    ("rerun", "publish", "success", None, "OPERATOR_REQUEST")], rows
    with Warehouse(snowflake_target) as wh:
        alerts = wh.query("select kind, reason_code, layer, business_date from meta.etl_alerts")
        assert alerts == [("RUN_FAILED", "TRANSFORM_ERROR", "publish", D3)], alerts
        assert wh.scalar("select count(*) from meta.etl_date_locks") == 0
    advice = _cli("plan", "--date", "2026-01-03", "--json")
    assert advice.exit_code == 1, advice.output
    p = _doc(advice)
    assert p["action"] == "escalate" and p["reason_code"] == "TRANSFORM_ERROR", p  # a dbt error: engineering's
    assert "dq rerun --date 2026-01-03 --layer publish --reason TRANSFORM_ERROR --target snowflake" in p["then"][1], p


def test_dq_backfill_dry_run_and_a_failed_backfill_on_the_emulator(snowflake_target, clean_extract, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    plan = _cli("backfill", "--from", "2026-01-01", "--to", "2026-01-03", "--dry-run", "--source",
                str(clean_extract), "--json")
    assert plan.exit_code == 0, plan.output
    doc = _doc(plan)
    assert doc["ok"] and doc["expected_rows"] > 1000
    states = {f["state"] for d in doc["dates"] for f in d["files"] if f["required"]}
    assert states == {"same"}, states  # what the session's build landed from the same files
    short = tmp_path / "short"
    shutil.copytree(clean_extract, short)
    (short / "2026-01-02" / "ua_contacthistory.csv").unlink()
    missing = _cli("backfill", "--from", "2026-01-02", "--to", "2026-01-03", "--dry-run", "--source", str(short),
                   "--json")
    assert missing.exit_code == 1 and "MISSING_FILE" in json.dumps(_doc(missing)["dates"][0]["problems"])
    failed = _cli("backfill", "--from", "2026-01-02", "--to", "2026-01-03", "--source", str(short), "--json")
    assert failed.exit_code == 1, failed.output[-3000:]
    res = _doc(failed)
    assert res["resume_command"].startswith("dq backfill --from 2026-01-02 --to 2026-01-03 --target snowflake")
    with Warehouse(snowflake_target) as wh:
        steps = wh.query("select job, layer, status, reason_code from meta.etl_runs order by started_at")
        assert steps == [("backfill", "ingest", "failed", "MISSING_FILE")], steps
        assert wh.query("select kind, reason_code from meta.etl_alerts") == [("RUN_FAILED", "MISSING_FILE")]
        assert wh.scalar("select count(*) from meta.etl_date_locks") == 0


def test_dq_release_snapshot_list_diff_rollback_on_the_emulator(snowflake_target, tmp_path, monkeypatch):
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    with Warehouse(snowflake_target) as wh:
        before = _publish_state(wh)
    snap = _cli("release", "snapshot", "--tag", "v1", "--json")
    assert snap.exit_code == 0, snap.output[-3000:]
    s = _doc(snap)
    assert {r["relation"].split(".")[1] for r in s["relations"]} == set(before) and s["models"] > 20
    assert {r["relation"].split(".")[1]: (r["rows"], r["content_hash"]) for r in s["relations"]} == before
    listed = _cli("release", "list", "--json")
    assert listed.exit_code == 0 and [r["release_id"] for r in _doc(listed)] == [s["release_id"]], listed.output
    with Warehouse(snowflake_target) as wh:
        wh.execute("drop table cdm_publish.campaign_360_v1")
        wh.execute("update cdm_publish.customer_360_v1 set contacts_total = contacts_total + 1000")
    diff = _cli("release", "diff", "latest", "--json")
    assert diff.exit_code == 0, diff.output[-3000:]
    d = _doc(diff)
    assert d["changed"], d
    text = json.dumps(d)
    assert "campaign_360_v1" in text and "customer_360_v1" in text
    refused = _cli("release", "rollback", "latest")
    assert refused.exit_code == 2, refused.output
    back = _cli("release", "rollback", "latest", "--yes", "--json")
    assert back.exit_code == 0, back.output[-3000:]
    with Warehouse(snowflake_target) as wh:
        assert _publish_state(wh) == before
        runs = wh.query("select job, layer, status, release_id, run_reason from meta.etl_runs")
    assert runs == [("rollback", "publish", "success", s["release_id"], "OPERATOR_REQUEST")], runs
    assert _doc(_cli("release", "diff", "latest", "--json"))["changed"] is False


# --- the Airflow DAG --------------------------------------------------------------------------------

def test_the_airflow_dag_runs_a_business_date_end_to_end_on_the_emulator(snowflake_template, airflow_home,
                                                                       clean_extract, gx_dir, tmp_path,
                                                                       monkeypatch):
    """The DAG (orchestration/dags/cdm_daily.py, dag.test() in Airflow's own virtualenv) calls `dq` as a
    separate process for each step: here DQ_BIN is `python -m fakesnow -d <files> -m dbt_project.cli`, the
    dq console script under the emulator's in-process patch on a private copy of the session's build
    (fakesnow's CLI; the steps run one after another, so one process at a time holds the files). dq run
    (ingest → … → ML) → dq validate → dq alerts check for the last built date succeed, and the registry
    on the emulator saw the run."""
    import stat
    import sys

    from test_airflow_dag import _check_dag, _env

    from dbt_project.alerts import list_alerts
    from dbt_project.registry import list_runs

    db = tmp_path / "snowflake"
    shutil.copytree(snowflake_template[0], db)
    _set_env(monkeypatch, gx_dir)
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    dq_bin = tmp_path / "dq-on-the-emulator"
    dq_bin.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fakesnow -d "{db}" -m dbt_project.cli "$@"\n')
    dq_bin.chmod(dq_bin.stat().st_mode | stat.S_IXUSR)
    env = {**_env(airflow_home, "snowflake"), "DQ_BIN": str(dq_bin),
           "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}  # an emulator limit (module docstring)
    doc = _check_dag(env, "happy", str(clean_extract), "2026-01-03")
    assert doc["import_errors"] == {}
    happy = doc["happy"]
    assert happy["state"].endswith("success"), happy
    assert all(state.endswith("success") and tries == 1 for state, tries in happy["tasks"].values()), happy
    with emulator(db), Warehouse("snowflake") as wh:
        rows = list_runs(wh, 50, D3)
    assert rows and {r["status"] for r in rows} <= {"success", "warning"}, rows
    assert {r["layer"] for r in rows} >= {"ingest", "ml"}
    with emulator(db):
        assert [a for a in list_alerts("snowflake", 20) if a.kind == "RUN_FAILED"] == []
