"""`dq` as a user meets it: help, exit codes, --json."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dbt_project.cli import main
from dbt_project.reason_codes import ReasonCode
from dbt_project.registry import list_runs
from dbt_project.warehouse import Warehouse


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_explains_commands_and_exit_codes():
    res = invoke("--help")
    assert res.exit_code == 0
    for word in ("generate", "ingest", "demo", "reason-codes", "Exit codes"):
        assert word in res.output
    assert "contract" in invoke("ingest", "--help").output


def test_ingest_exit_codes_and_json(target, clean_extract, extract_factory):
    ok = invoke("ingest", "--date", "2026-01-01", "--source", str(clean_extract), "--target", target, "--json")
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.output)
    assert doc["ok"] is True and {t["status"] for t in doc["tables"]} == {"LOADED"}

    bad = invoke("ingest", "--date", "2026-01-02", "--source", str(extract_factory("null_key")),
                 "--target", target, "--json")
    assert bad.exit_code == 1
    assert json.loads(bad.output)["reason_codes"] == ["NULL_KEY"]

    table = invoke("ingest", "--date", "2026-01-02", "--source", str(extract_factory("missing_file")),
                   "--target", target)
    assert table.exit_code == 1
    assert "MISSING_FILE" in table.output and "ua_offer" in table.output


def test_usage_errors_exit_2(clean_extract):
    assert invoke("ingest", "--date", "2026-13-01", "--source", str(clean_extract)).exit_code == 2
    assert invoke("ingest", "--source", str(clean_extract)).exit_code == 2
    res = invoke("ingest", "--date", "2026-01-01", "--source", str(clean_extract), "--table", "nope")
    assert res.exit_code == 2 and "unknown table" in res.output


def test_unreachable_postgres_exits_2_with_connectivity(monkeypatch, clean_extract):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("POSTGRES_HOST", "127.0.0.1")
    monkeypatch.setenv("POSTGRES_PORT", str(port))
    res = invoke("ingest", "--date", "2026-01-01", "--source", str(clean_extract), "--target", "postgres")
    assert res.exit_code == 2
    assert "CONNECTIVITY" in res.output and "retry" in res.output


def test_reason_codes_json_lists_the_enum():
    rows = json.loads(invoke("reason-codes", "--json").output)
    assert [r["code"] for r in rows] == [c.value for c in ReasonCode]


@pytest.mark.slow
def test_demo_runs_end_to_end(target_env, tmp_path):
    """The `dq` console script itself (as `make demo` runs it): the whole loop, and nothing but the demo's
    own report — no Python warning, no "leaked semaphore" or "nanobind: leaked" lines at exit (dq leaves
    with os._exit once GX is loaded: see cli.entry)."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    target = target_env("duckdb")
    dq = str(Path(sys.executable).with_name("dq"))
    res = subprocess.run([dq, "demo", "--customers", "400", "--days", "3", "--out", str(tmp_path / "x"),
                          "--target", target], env=dict(os.environ), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for shown in ("AUC", "checks passed", "Rows per layer", "cdm_ingest", "Customer 360", "Campaign 360",
                  "Flowchart 360", "Where to look next"):
        assert shown in res.stdout, shown
    assert "leaked" not in res.stderr and not re.search(r"\w+Warning: ", res.stderr), res.stderr[-3000:]
    with Warehouse(target) as wh:  # the loop closed: scores written back, ingested, shown in publish
        assert wh.scalar("select count(response_propensity_score) from cdm_publish.customer_360_v1") == 400
        runs = list_runs(wh, None)
    # both loads are in the registry as the service team's runs are, each with its evidence file; newest first,
    # a run's steps by layer and date, descending
    assert [(r["job"], r["layer"], str(r["from_date"]), str(r["to_date"]), r["status"]) for r in runs] == (
        [("run", "ml", "2026-01-03", "2026-01-03", "success")]
        + [("backfill", layer, "2026-01-01", "2026-01-03", "success") for layer in ("publish", "360", "ifl", "rdv")]
        + [("backfill", "ingest", d, d, "success") for d in ("2026-01-03", "2026-01-02", "2026-01-01")])
    assert all(Path(r["evidence_path"]).is_file() and r["run_id"] in res.stdout for r in runs)


@pytest.mark.slow
def test_demo_on_too_small_an_extract_says_why_it_cannot_score_and_exits_1(target_env, tmp_path):
    target = target_env("duckdb")
    res = invoke("demo", "--customers", "60", "--days", "2", "--out", str(tmp_path / "x"), "--target", target)
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit | None), res.output  # no traceback
    assert "not scored: [ZERO_ROWS]" in res.output and "problem: ML scoring: ZERO_ROWS" in res.output, res.output
    assert "Rows per layer" in res.output  # the other steps still ran and reported
    with Warehouse(target) as wh:  # the failed ML run is recorded with its code, as `dq run` records it
        ml_runs = [(r["job"], r["status"], r["reason_code"]) for r in list_runs(wh, None) if r["layer"] == "ml"]
    assert ml_runs == [("run", "failed", "ZERO_ROWS")]


def test_rejects_command_shows_quarantined_rows(target, extract_factory):
    src = str(extract_factory("bad_number"))
    assert invoke("ingest", "--date", "2026-01-02", "--source", src, "--target", target).exit_code == 1
    rows = json.loads(invoke("rejects", "--date", "2026-01-02", "--target", target, "--json").output)
    assert len(rows) == 3 and {r["reason"] for r in rows} == {"BAD_VALUE"}
    assert all(r["table"] == "ua_contacthistory" and r["raw_line"] for r in rows)
    assert "No rejected rows" in invoke("rejects", "--date", "2026-01-01", "--target", target).output


def test_build_refuses_a_range_that_ends_before_it_starts():
    res = CliRunner().invoke(main, ["build", "--from", "2026-01-05", "--to", "2026-01-01"])
    assert res.exit_code == 2 and "before --from" in res.output


def test_build_refuses_a_date_never_landed_and_a_selection_that_matches_nothing(target_env, clean_extract):
    """Building through an unlanded date would publish it empty for good; a typo in --select must not read as a
    successful build of nothing."""
    target = target_env("duckdb")
    res = invoke("build", "--from", "2026-01-01", "--target", target, "--json")
    assert res.exit_code == 2 and "2026-01-01 has not been landed" in json.loads(res.stdout)["error"], res.output
    assert invoke("ingest", "--date", "2026-01-01", "--source", str(clean_extract), "--target", target).exit_code == 0
    res = invoke("build", "--from", "2026-01-01", "--to", "2026-01-02", "--target", target, "--json")
    assert res.exit_code == 2 and "2026-01-02 has not been landed" in json.loads(res.stdout)["error"], res.output
    res = invoke("build", "--from", "2026-01-01", "--select", "rvd", "--target", target, "--json")
    assert res.exit_code == 2, res.output
    doc = json.loads(res.stdout)
    assert doc["exit_code"] == 2 and "--select rvd matched no model" in doc["error"] and "dbt ls" in doc["error"]


def test_with_json_a_command_that_cannot_go_on_still_prints_one_json_document(target, monkeypatch):
    """A scheduler reading stdout gets a document for every outcome: usage (2) and data (1) failures too."""
    for args in (["ml", "score", "--date", "2026-01-01"],  # nothing is published to score
                 ["release", "rollback", "nosuch", "--yes"]):
        result = invoke(*args, "--target", target, "--json")
        assert result.exit_code == 2, result.output
        doc = json.loads(result.stdout)
        assert (doc["ok"], doc["exit_code"], doc["reason_code"]) == (False, 2, None) and doc["error"], doc
    for args in (["plan"], ["plan", "--date", "bogus"], ["runs", "--last", "0"], ["alerts", "ack"]):  # usage errors
        result = invoke(*args, "--json")
        assert result.exit_code == 2 and json.loads(result.stdout)["exit_code"] == 2, (args, result.output)
    assert json.loads(invoke("reason-codes", "--json").stdout)  # and success is unchanged
    monkeypatch.setenv("DQ_SOURCE_ROOT", "/nowhere")  # refused by name
    result = invoke("run", "--date", "2026-01-01", "--target", target, "--json")
    assert result.exit_code == 2 and "DQ_SOURCE_ROOT" in json.loads(result.stdout)["error"]


def test_a_run_table_shows_attempt_and_reason_only_when_a_step_has_one_and_messages_under_it(monkeypatch):
    import dataclasses
    import datetime as dt

    from dbt_project import cli
    from dbt_project.registry import Step

    day = dt.date(2026, 1, 3)

    def step(layer: str, status: str = "success", **kw) -> dict:
        return dataclasses.asdict(Step("run", "run-x", "trace-x", "dev", layer, day, day, status=status, **kw))

    def header(*steps: dict) -> list[str]:
        return [c.header for c in cli._steps_table(list(steps)).columns]

    assert header(step("ingest"), step("rdv")) == ["layer", "dates", "status", "read", "written", "seconds"]
    failed = [step("ingest", attempt=2, reason_code="LOCK_TIMEOUT", err_msg="held by pid 7 " + "x" * 150),
              step("rdv", status="skipped", err_msg="not run: an earlier step failed"),
              step("ifl", status="skipped", err_msg="not run: an earlier step failed")]
    assert header(*failed) == ["layer", "dates", "attempt", "status", "reason", "read", "written", "seconds"]
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: up to 200 columns
    with cli.console.capture() as out:  # the messages, each once, under the table: whole, one per line
        cli._print_steps("run run-x", failed)
    lines = out.get().splitlines()
    assert lines[0] == "run run-x"
    assert lines[-2:] == ["  ingest 2026-01-03 attempt 2: held by pid 7 " + "x" * 150,
                          "  rdv, ifl 2026-01-03: not run: an earlier step failed"]
