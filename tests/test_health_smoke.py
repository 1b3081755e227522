"""`dq healthcheck`, `dq smoke` and `dq docs` on a built warehouse (DuckDB and PostgreSQL): healthy on
the clean build, each breach named with its reason code, smoke read-only and failing on a broken deploy."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from dbt_project import health, smoke
from dbt_project.cli import main
from dbt_project.evidence import schema_path
from dbt_project.site import build_site
from dbt_project.validate import validate
from dbt_project.warehouse import Warehouse

D = dt.date(2026, 1, 3)  # the last date of the built warehouse


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def evidence_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    return tmp_path / "evidence"


def _evidence(path: str) -> dict:
    doc = json.loads(Path(path).read_text())
    jsonschema.validate(doc, json.loads(schema_path().read_text()))
    return doc


def _breaches(rep) -> set[tuple[str, str, str]]:
    return {(c.check, c.subject, c.reason_code) for c in rep.breaches}


# --- healthcheck ------------------------------------------------------------------------------------

def test_healthcheck_passes_on_a_fresh_build(built_target):
    res = invoke("healthcheck", "--target", built_target, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["ok"] is True and doc["business_date"] == "2026-01-03"
    checks = {c["check"] for c in doc["checks"]}
    assert checks == {"source_freshness", "table_age", "data_present", "negative_amounts"}
    fresh = [c for c in doc["checks"] if c["check"] == "source_freshness"]
    assert {c["subject"] for c in fresh} >= {"ldz.ldz_ua_contacthistory", "ldz.ldz_customer"}
    assert all(c["status"] == "OK" for c in doc["checks"] if c["status"] != "SKIPPED")


def test_healthcheck_names_each_breach(built_target):
    with Warehouse(built_target) as wh:
        p = wh.param
        stale = dt.datetime.now() - dt.timedelta(days=3)  # past error_after (50 h)
        wh.execute(f"update meta.ldz_files set loaded_at = {p} where table_name = 'ua_contacthistory'", [stale])
        # rows from long ago, but its file keeps arriving (empty or unchanged master data): fresh
        wh.execute(f"update ldz.ldz_ua_campaign set _loaded_at = {p}", [stale])
        wh.execute("update c360.customer_360 set revenue_total = -1 where customer_id = "
                   "(select min(customer_id) from c360.customer_360)")
    rep = health.healthcheck(built_target)
    got = _breaches(rep)
    assert ("source_freshness", "ldz.ldz_ua_contacthistory", "STALE_SOURCE") in got
    assert ("negative_amounts", "c360.customer_360", "ANOMALY") in got
    assert not any(s in ("ldz.ldz_customer", "ldz.ldz_ua_campaign") for _, s, _ in got)  # the others stay fresh
    assert rep.reason_codes == ["ANOMALY", "STALE_SOURCE"]

    # a business date the 360 tables were not built for, whose data never arrived
    later = health.healthcheck(built_target, dt.date(2026, 1, 4), freshness=False)
    got = _breaches(later)
    assert ("table_age", "cdm_publish.customer_360_v1", "ZERO_ROWS") in got
    assert ("data_present", "rdv.l_contact", "ZERO_ROWS") in got
    assert health.healthcheck(built_target, dt.date(2026, 1, 4), sla_days=1, freshness=False).checks[0].status == "OK"
    res = invoke("healthcheck", "--target", built_target, "--date", "2026-01-04", "--no-freshness")
    assert res.exit_code == 1 and "ZERO_ROWS" in res.output


# --- smoke ------------------------------------------------------------------------------------------

def _fingerprint(target: str) -> dict:
    """Every table's row count in the warehouse (smoke must leave it unchanged)."""
    with Warehouse(target) as wh:
        tables = wh.query("select table_schema, table_name from information_schema.tables "
                          "where table_schema in ('ldz', 'stg', 'rdv', 'ifl', 'c360', 'cdm_publish', 'cdm_ingest', "
                          "'meta') order by 1, 2")
        return {f"{s}.{t}": wh.scalar(f'select count(*) from "{s}"."{t}"') for s, t in tables}


def test_smoke_passes_on_the_build_and_is_read_only(built_target):
    before = _fingerprint(built_target)
    res = invoke("smoke", "--target", built_target, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    status = {c["name"]: c["status"] for c in doc["checks"]}
    assert status == {"parse": "PASS", "compile": "PASS", "connection": "PASS", "publish_contracts": "PASS",
                      "release_compat": "SKIPPED", "date_control": status["date_control"],
                      "publish_validation": "PASS"}  # no release snapshot in this warehouse
    if "meta.etl_date_control" not in before:
        assert status["date_control"] == "SKIPPED"
    assert doc["business_date"] == "2026-01-03" and doc["reason_code"] is None
    assert _fingerprint(built_target) == before
    ev = _evidence(doc["evidence"])
    assert (ev["job"], ev["status"], ev["downstream_decision"], ev["run_id"]) == ("smoke", "success", "unblock",
                                                                                doc["run_id"])


def _relation_type(wh, schema, name) -> str:
    return wh.scalar(f"select table_type from information_schema.tables where table_schema = {wh.param} "
                     f"and table_name = {wh.param}", [schema, name])


def test_smoke_fails_on_a_broken_deploy(built_target):
    with Warehouse(built_target) as wh:
        kind = "view" if "VIEW" in _relation_type(wh, "cdm_publish", "campaign_360_v1").upper() else "table"
        wh.execute(f"drop {kind} cdm_publish.campaign_360_v1")  # a publish model lost
        cols = [r[0] for r in wh.query(
            "select column_name from information_schema.columns where table_schema = 'cdm_publish' "
            "and table_name = 'flowchart_360_v1' order by ordinal_position") if r[0] != "revenue"]
        wh.execute("create table cdm_publish.flowchart_360_v1_tmp as select "
                   f"{', '.join(cols)} from cdm_publish.flowchart_360_v1")
        kind = "view" if "VIEW" in _relation_type(wh, "cdm_publish", "flowchart_360_v1").upper() else "table"
        wh.execute(f"drop {kind} cdm_publish.flowchart_360_v1")  # a contract column lost
        wh.execute("alter table cdm_publish.flowchart_360_v1_tmp rename to flowchart_360_v1")
    res = invoke("smoke", "--target", built_target, "--json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    assert doc["reason_code"] == "SMOKE_FAILED"
    assert set(doc["failed_checks"]) == {"publish_contracts", "publish_validation"}
    detail = next(c["detail"] for c in doc["checks"] if c["name"] == "publish_contracts")
    assert "campaign_360_v1 does not exist" in detail and re.search(r"flowchart_360_v1 lacks .*revenue", detail)
    ev = _evidence(doc["evidence"])
    assert (ev["status"], ev["reason_code"], ev["downstream_decision"]) == ("failed", "SMOKE_FAILED", "hold")
    assert "publish_contracts" in ev["decision_reason"]
    text = invoke("smoke", "--target", built_target)
    assert text.exit_code == 1 and "SMOKE_FAILED" in text.output


def test_smoke_checks_the_date_control_when_there_is_one(built_target):
    from dbt_project.registry import ensure_tables, set_current_date

    with Warehouse(built_target) as wh:  # the table exists (every run creates it), no date is set: not in use
        ensure_tables(wh)
        status, detail = smoke.date_control_problems(wh, built_target)
    assert status == "SKIPPED" and "dq dates set" in detail, detail

    def date_control_after(day: dt.date):
        with Warehouse(built_target) as wh:
            set_current_date(wh, built_target, day)
        rep = smoke.smoke(built_target)
        return rep, next(c for c in rep.checks if c.name == "date_control")

    rep, check = date_control_after(D)
    assert check.status == "PASS" and rep.ok and rep.business_date == D, rep.as_dict()
    rep, check = date_control_after(dt.date.today() + dt.timedelta(days=30))
    assert check.status == "FAIL" and "future" in check.detail and rep.reason_code == "SMOKE_FAILED"
    rep, check = date_control_after(dt.date(2026, 1, 10))  # a past date that never landed
    assert check.status == "FAIL" and "not been landed" in check.detail and rep.reason_code == "SMOKE_FAILED"


# --- docs -------------------------------------------------------------------------------------------

def test_docs_site_links_lineage_and_data_docs_offline(built_target, tmp_path):
    dd = tmp_path / "dd"
    run = validate(built_target, "publish", D, docs_dir=dd)
    res = build_site(built_target, tmp_path / "site", data_docs_dir=dd)
    index = res.index.read_text()
    assert 'href="lineage/index.html"' in index and 'href="data_docs/index.html"' in index
    assert f'href="data_docs/{run.run_id}.html"' in index
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", index)  # opens offline
    assert (tmp_path / "site" / "data_docs" / f"{run.run_id}.html").exists()
    lineage = res.lineage.read_text()
    assert "customer_360_v1" in lineage and "ldz_ua_contacthistory" in lineage  # manifest + catalog inlined
    cli = invoke("docs", "--target", built_target, "--out", str(tmp_path / "site2"), "--json")
    assert cli.exit_code == 0, cli.output
    assert (tmp_path / "site2" / "index.html").exists() and (tmp_path / "site2" / "lineage" / "index.html").exists()
