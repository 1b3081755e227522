"""`dq validate` (issue 5): every check passes on a clean built warehouse and each corruption fails the
right check with its reason code, on DuckDB and PostgreSQL. GX, dbt and the databases are real."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from dbt_project import validate as v
from dbt_project.cli import main
from dbt_project.warehouse import Warehouse

D1, D3 = dt.date(2026, 1, 1), dt.date(2026, 1, 3)


def _corrupt(target: str, *statements: str) -> None:
    with Warehouse(target) as wh:
        for sql in statements:
            wh.execute(sql)


def _failed(run: v.ValidationRun) -> dict[str, str]:
    return {r.check: r.reason_code for r in run.failed}


def test_validation_run_ids_sort_by_time_within_one_second():
    """plan and the evidence take a date's latest validation as its greatest run id: two validations in
    the same second must still sort by time (before, the id stopped at the second and a random suffix
    decided)."""
    t = dt.datetime(2026, 11, 25, 2, 22, 33, 1)
    ids = [v.new_run_id(t + dt.timedelta(microseconds=k)) for k in range(50)]
    assert ids == sorted(ids)
    assert ids[0] > "20261125T022233-ffffff"  # an id of an older release, in the same second
    assert ids[-1] < v.new_run_id(t + dt.timedelta(seconds=1)) < v.new_run_id()


def test_clean_warehouse_passes_every_layer_and_stores_results(built_target, tmp_path):
    run = v.validate(built_target, "all", docs_dir=tmp_path)
    assert run.business_date == D3  # default: the latest landed date
    assert run.ok, [(r.check, r.observed, r.error) for r in run.failed + run.errors]
    assert {"ldz", "rdv"} <= {r.layer for r in run.results}
    built = [layer for layer in run.layers if layer not in run.not_built]
    assert len(run.results) == sum(len(v.load_suite(layer).checks) for layer in built)
    with Warehouse(built_target) as wh:
        stored = wh.query("select layer, check_name, status, reason_code, business_date from meta.dq_results "
                          f"where run_id = {wh.param}", [run.run_id])
        # the same checks as plain SQL agree with GX (all zero failing rows)
        plain = {name: n for layer in built
                 for name, n in v.run_plain_sql(wh, v.load_suite(layer), run.business_date).items()}
    assert len(stored) == len(run.results)
    assert {s[2] for s in stored} == {"PASS"}
    assert all(s[4] == D3 for s in stored)
    assert set(plain.values()) == {0}
    # the earlier dates of the build pass too (date-scoped)
    for day in (D1, dt.date(2026, 1, 2)):
        assert v.validate(built_target, "rdv", day, docs_dir=tmp_path).ok


CORRUPTIONS = {
    # name: (layer, date, statements, the failing check, its reason code)
    "duplicate_hub_row": (
        "rdv", D1,
        ["insert into rdv.h_customer select * from rdv.h_customer where customer_id = "
         "(select min(customer_id) from rdv.h_customer where business_date = '2026-01-01')"],
        "h_customer.key_unique", "DUPLICATE_KEY"),
    "orphan_link": (
        "rdv", D1,
        ["update rdv.l_contact set customer_hk = md5('no such customer') where contact_hk = "
         "(select min(contact_hk) from rdv.l_contact where business_date = '2026-01-01')"],
        "l_contact.customer_hk_in_h_customer", "KEY_MISMATCH"),
    "null_hash_key": (
        "rdv", D1,
        ["update rdv.l_cell_flowchart set cell_flowchart_hk = null where cell_flowchart_hk = "
         "(select min(cell_flowchart_hk) from rdv.l_cell_flowchart where business_date = '2026-01-01')"],
        "l_cell_flowchart.no_null_keys", "NULL_KEY"),
    "duplicate_satellite_version": (
        "rdv", D3,
        ["insert into rdv.s_contact_status select * from rdv.s_contact_status where contact_hk = "
         "(select min(contact_hk) from rdv.s_contact_status where business_date = '2026-01-03')"],
        "s_contact_status.key_unique", "DUPLICATE_KEY"),
    "contact_link_rows_deleted": (
        "ldz", D3,
        ["delete from rdv.l_contact where business_date = '2026-01-03'"],
        "ldz_ua_contacthistory.reconciles_l_contact", "ROW_COUNT_MISMATCH"),
    "response_link_row_deleted": (
        "ldz", D3,
        ["delete from rdv.l_response where response_hk = "
         "(select min(response_hk) from rdv.l_response where business_date = '2026-01-03')"],
        "ldz_ua_responsehistory.reconciles_l_response", "ROW_COUNT_MISMATCH"),
    "ldz_key_missing_from_hub": (
        "ldz", D3,
        ["delete from rdv.h_customer where customer_id = "
         "(select min(customerid) from ldz.ldz_customer where _business_date = '2026-01-03')"],
        "ldz_customer.customerid_in_h_customer", "KEY_MISMATCH"),
    "flowchart_without_executions": (
        "360", D3,
        ["update c360.flowchart_360 set execution_count = 0 where flowchart_id = "
         "(select min(flowchart_id) from c360.flowchart_360)"],
        "flowchart_360.execution_count_positive", "ANOMALY"),
    "unmapped_code": (
        "ifl", D3,
        ["delete from ifl.map_country where country_code = "
         "(select min(country_code) from ifl.ifl_customer where country_code is not null)"],
        "ifl_customer.country_code_mapped", "MAPPING_MISSING"),
    "out_of_range_score": (
        "ml", D3,
        ["insert into cdm_ingest.ml_customer_scores (customer_id, model_name, model_version, score, decile, "
         "scored_at, business_date) select min(customer_id), 'response_propensity', 'test', 1.5, 1, "
         "cast('2026-01-03 12:00:00' as timestamp), cast('2026-01-03' as date) from rdv.h_customer"],
        "ml_customer_scores.score_in_0_1", "ML_SCORE_INVALID"),
    "empty_publish_model": (
        "publish", D3,
        ["delete from cdm_publish.flowchart_360_v1"],
        "flowchart_360_v1.rows_for_date", "ZERO_ROWS"),
    "publish_contract_column_dropped": (
        "publish", D3,
        ["alter table cdm_publish.campaign_360_v1 drop column revenue"],
        "campaign_360_v1.contract_columns", "SCHEMA_MISMATCH"),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_corruption_fails_its_check_with_its_reason_code(built_target, tmp_path, name):
    layer, day, statements, check, reason = CORRUPTIONS[name]
    before = v.validate(built_target, layer, day, docs_dir=tmp_path)
    assert before.ok
    _corrupt(built_target, *statements)
    run = v.validate(built_target, layer, day, max_failing_rows=5, docs_dir=tmp_path)
    failed = _failed(run)
    assert failed.get(check) == reason, failed
    res = next(r for r in run.results if r.check == check)
    assert res.observed >= 1 and res.failing_rows and len(res.failing_rows) <= 5
    # GX and the same check as plain SQL see the same failing rows
    with Warehouse(built_target) as wh:
        plain = v.run_plain_sql(wh, v.load_suite(layer), day)
        stored = wh.query(f"select status, reason_code, failing_rows from meta.dq_results where run_id = {wh.param} "
                          f"and check_name = {wh.param}", [run.run_id, check])
    assert {r.check: r.observed for r in run.results} == plain
    assert stored[0][0] == "FAIL" and stored[0][1] == reason and json.loads(stored[0][2])
    if name != "ldz_key_missing_from_hub":  # a missing hub row also fails every other table naming that key
        assert set(failed) == {check}, failed


def test_a_check_that_cannot_run_is_an_error_naming_the_cause_without_the_wrapped_statement(built_target, tmp_path):
    _corrupt(built_target, "alter table cdm_publish.campaign_360_v1 drop column as_of_date cascade")
    run = v.validate(built_target, "publish", D3, docs_dir=tmp_path)
    status = {r.check: r.status for r in run.results}
    assert status.pop("campaign_360_v1.contract_columns") == v.FAIL
    assert status.pop("campaign_360_v1.rows_for_date") == v.ERROR
    assert set(status.values()) == {v.PASS}, status  # the other tables' checks still run
    error = next(r.error for r in run.results if r.check == "campaign_360_v1.rows_for_date")
    assert "as_of_date" in error and "[SQL:" not in error and len(error) < 1000, error


def test_cli_exit_codes_table_and_failing_rows(built_target):
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", "--layer", "rdv", "--target", built_target])
    assert ok.exit_code == 0, ok.output
    assert "h_customer.key_unique" in ok.output and "PASS" in ok.output
    _corrupt(built_target, "insert into rdv.h_offer select * from rdv.h_offer where offer_hk = "
                           "(select min(offer_hk) from rdv.h_offer where business_date = '2026-01-01')")
    bad = runner.invoke(main, ["validate", "--layer", "rdv", "--date", "2026-01-01", "--target", built_target,
                               "--max-failing-rows", "3"])
    assert bad.exit_code == 1, bad.output
    assert "DUPLICATE_KEY" in bad.output and "failing rows" in bad.output and "copies" in bad.output
    js = runner.invoke(main, ["validate", "--layer", "rdv", "--date", "2026-01-01", "--target", built_target,
                              "--json"])
    assert js.exit_code == 1
    doc = json.loads(js.stdout)
    assert [c["check"] for c in doc["checks"] if c["status"] == "FAIL"] == ["h_offer.key_unique"]


def test_layer_not_built_is_a_usage_error(target):
    runner = CliRunner()
    # an empty warehouse: nothing landed, and with a date the vault tables are missing
    res = runner.invoke(main, ["validate", "--layer", "rdv", "--target", target])
    assert res.exit_code == 2 and "pass --date" in res.output
    res = runner.invoke(main, ["validate", "--layer", "rdv", "--date", "2026-01-01", "--target", target])
    assert res.exit_code == 2 and "not built" in res.output
    missing = [layer for layer in v.LAYERS if not (v.suites_dir() / f"{v.SUITE_MODULES[layer]}.py").exists()]
    for layer in missing:
        res = runner.invoke(main, ["validate", "--layer", layer, "--date", "2026-01-01", "--target", target])
        assert res.exit_code == 2 and "not built yet" in res.output, res.output


def test_data_docs_render_offline(built_target, tmp_path):
    _corrupt(built_target, "update rdv.l_cell_flowchart set cell_flowchart_hk = null where cell_flowchart_hk = "
                           "(select min(cell_flowchart_hk) from rdv.l_cell_flowchart)")
    run = v.validate(built_target, "rdv", D1, docs_dir=tmp_path)
    pages = [tmp_path / f"{run.run_id}.html", tmp_path / "index.html"]
    for page in pages:
        text = page.read_text()
        assert "<script" not in text.lower()
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I), page
        assert "http://" not in text and "https://" not in text
    assert "NULL_KEY" in pages[0].read_text() and run.run_id in pages[1].read_text()


def test_duckdb_shim_makes_gx_work_and_is_needed(tmp_path):
    """Fails if the DuckDB shim stops working (or stops being needed: then drop it)."""
    import duckdb

    from dbt_project import gx_shim

    gx = gx_shim.load()
    assert gx.__version__ == gx_shim.GX_VERSION and gx_shim.shim_applied()
    path = tmp_path / "shim.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema s; create table s.t as select * from range(10) r(x)")
    con.close()

    def observed() -> int:
        ctx = gx.get_context(mode="ephemeral")
        ds = ctx.data_sources.add_sql("shim", connection_string=f"duckdb:///{path}")
        batch = ds.add_table_asset("t", table_name="t", schema_name="s").add_batch_definition_whole_table(
            "all").get_batch()
        res = batch.validate(gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query="select x from {batch} where x >= 7"))
        v._close(ds)
        return int(res.result["observed_value"]) if res.success is not None and res.result else -1

    assert observed() == 3
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    shimmed = see._PERSISTED_CONNECTION_DIALECTS
    see._PERSISTED_CONNECTION_DIALECTS = tuple(d for d in shimmed if getattr(d, "value", d) != "duckdb")
    try:
        assert observed() != 3  # without it GX 1.24 cannot compute the metric on DuckDB
    finally:
        see._PERSISTED_CONNECTION_DIALECTS = shimmed


def test_suites_are_date_free_and_written_only_when_their_code_changes(built_target, tmp_path, monkeypatch):
    """A run for another date reuses the stored suites, validation definitions and checkpoint (the date
    reaches each query as a suite parameter); editing a check rewrites them and the edit takes effect; GX
    writes no validation result files (its results store is in memory)."""
    import dataclasses

    from conftest import private_gx_context

    gx_dir = private_gx_context(tmp_path / "ge")
    monkeypatch.setenv("DQ_GX_DIR", str(gx_dir))
    suite = v.load_suite("publish")

    def stored() -> dict[str, str]:
        return {str(f.relative_to(gx_dir)): f.read_text() for f in sorted((gx_dir / "gx").rglob("*.json"))}

    def statuses(day: dt.date, s: v.Suite = suite) -> dict[str, str]:
        return {r.check: r.status for r in v.run_gx_checkpoint(built_target, s, day, 5)}

    assert set(statuses(D3).values()) == {v.PASS}
    written = stored()
    assert any("checkpoints" in f for f in written) and all("2026-01-03" not in t for t in written.values())
    before = {f: (gx_dir / f).stat().st_mtime_ns for f in written}
    # a date not published yet (after the as-of date): the rows checks fail, so the date reached the queries;
    # an earlier date passes (it is published through the later as-of date); nothing rewritten
    late = statuses(dt.date(2026, 2, 1))
    assert {k for k, s in late.items() if s == v.FAIL} == {c.name for c in suite.checks if "rows_for_date" in c.name}
    assert set(statuses(dt.date(2025, 12, 1)).values()) == {v.PASS}
    assert stored() == written and {f: (gx_dir / f).stat().st_mtime_ns for f in written} == before
    # an edited check is written again and used
    edited = dataclasses.replace(suite.checks[0], sql="select 1 as always_failing from {batch} where 1 = 1")
    changed = v.Suite(suite.layer, suite.requires, (edited, *suite.checks[1:]))
    assert statuses(D3, changed)[edited.name] == v.FAIL
    assert stored() != written
    assert statuses(D3)[edited.name] == v.PASS  # and back
    assert not (gx_dir / "gx" / "uncommitted" / "validations").exists()


def test_dq_cli_import_does_not_import_gx():
    import subprocess
    import sys

    code = "import sys, dbt_project.cli; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("engine", ["duckdb"])
def test_validate_leaves_no_duckdb_connection_open(built_target, tmp_path):
    """GX keeps a persisted connection for DuckDB (the shim) that its own close() leaves open; validate
    must close it, or the warehouse file stays open in this process after the run."""
    import gc

    def open_connections() -> int:
        gc.collect()
        return sum(type(o).__name__ == "DuckDBPyConnection" for o in gc.get_objects())

    before = open_connections()
    assert v.validate(built_target, "publish", dt.date(2026, 1, 3), docs_dir=tmp_path).ok
    assert open_connections() == before


@pytest.mark.parametrize("engine", ["duckdb"])
def test_the_dq_script_exits_with_the_commands_code_and_without_duckdb_leak_noise(built_target):
    """`dq` (the console script) leaves without Python's finalization once GX was loaded: the exit code is
    the command's, the JSON is complete, and DuckDB's "nanobind: leaked" lines do not bury the output."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    dq = str(Path(sys.executable).with_name("dq"))
    args = [dq, "validate", "--layer", "rdv", "--date", "2026-01-01", "--target", built_target, "--json"]
    ok = subprocess.run(args, env=dict(os.environ), capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout)["ok"] is True and "nanobind" not in ok.stderr
    _corrupt(built_target, "insert into rdv.h_offer select * from rdv.h_offer where offer_hk = "
                           "(select min(offer_hk) from rdv.h_offer where business_date = '2026-01-01')")
    bad = subprocess.run(args, env=dict(os.environ), capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)["ok"] is False and "nanobind" not in bad.stderr
