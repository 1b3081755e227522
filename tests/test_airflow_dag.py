"""The Airflow DAG (orchestration/dags/cdm_daily.py) in its own Airflow 3 virtualenv (`make airflow`, which
`make test` runs first): it imports without error, its steps and retries are wired, transient failures are
retried and data failures are not, and a failed run records a RUN_FAILED alert in the warehouse.

Never skipped: without orchestration/.venv the test fails and says how to install it."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbt_project.alerts import list_alerts
from dbt_project.project import root
from dbt_project.registry import list_runs
from dbt_project.warehouse import Warehouse

AIRFLOW_PY = root() / "orchestration" / ".venv" / "bin" / "python"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> dict:
    if not AIRFLOW_PY.exists():
        pytest.fail(f"Airflow is not installed ({AIRFLOW_PY} missing): run `make airflow` "
                    "(make test does it first)", pytrace=False)
    home = tmp_path_factory.mktemp("airflow_home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(root() / "orchestration" / "dags"),
           "DQ_BIN": str(Path(sys.executable).parent / "dq"), "DQ_PROJECT_DIR": str(root())}
    proc = subprocess.run([str(AIRFLOW_PY.parent / "airflow"), "db", "migrate"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return env


def _check_dag(env: dict, *args: str) -> dict:
    proc = subprocess.run([str(AIRFLOW_PY), str(root() / "orchestration" / "check_dag.py"), *args],
                          env=env, capture_output=True, text=True, timeout=900)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("CHECK_DAG_JSON ")), None)
    assert proc.returncode == 0 and line, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(line.split(" ", 1)[1])


def _env(airflow_home: dict, target: str) -> dict:
    """The DAG's environment: the test's warehouse, evidence, GX and dbt paths (never the checkout's)."""
    return {**airflow_home, **{k: v for k, v in os.environ.items()
                               if k.startswith(("POSTGRES_", "SNOWFLAKE_", "DQ_DUCKDB", "DQ_EVIDENCE", "DQ_GX_DIR",
                                                "DBT_TARGET_PATH", "DBT_LOG_PATH"))},
            "DQ_TARGET": target, "DQ_RETRY_ATTEMPTS": "1"}


def test_dag_runs_a_business_date_end_to_end(built_target, clean_extract, airflow_home, tmp_path, monkeypatch):
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    doc = _check_dag(_env(airflow_home, built_target), "happy", str(clean_extract), "2026-01-03")
    assert doc["import_errors"] == {}
    happy = doc["happy"]
    assert happy["state"].endswith("success"), happy
    assert all(state.endswith("success") and tries == 1 for state, tries in happy["tasks"].values()), happy
    with Warehouse(built_target) as wh:
        rows = list_runs(wh, 50, dt.date(2026, 1, 3))
    assert rows and {r["status"] for r in rows} <= {"success", "warning"}, rows  # the registry saw dq run
    assert {r["layer"] for r in rows} >= {"ingest", "ml"}
    assert [a for a in list_alerts(built_target, 20) if a.kind == "RUN_FAILED"] == []


def test_dag_imports_retries_only_transient_failures_and_alerts(target, airflow_home, tmp_path):
    landed = tmp_path / "extract"  # an extract root without the business dates: dq run fails with MISSING_FILE
    landed.mkdir()
    doc = _check_dag(_env(airflow_home, target), str(landed), str(tmp_path / "no_such_root"))

    assert doc["import_errors"] == {}
    tasks = doc["tasks"]
    order = ["business_date", "run", "validate", "alerts_check"]
    for up, down in itertools.pairwise(order):
        assert down in tasks[up]["downstream"], (up, down)
    assert all(tasks[t]["retries"] >= 1 and tasks[t]["on_failure_callback"] for t in order[1:])

    # a transient failure is retried by Airflow, a data failure is not
    assert doc["transient"][0] == "AirflowException" and "reason_code=CONNECTIVITY" in doc["transient"][1]
    assert doc["data"][0] == "AirflowFailException" and "reason_code=MISSING_FILE" in doc["data"][1]

    for case in ("missing_date", "missing_root"):
        states = doc[case]["tasks"]
        assert doc[case]["state"].endswith("failed"), doc[case]
        assert states["business_date"][0].endswith("success")
        assert states["run"][0].endswith("failed") and states["run"][1] == 1, states  # failed once, not retried
        assert all(states[t][0].endswith("upstream_failed") for t in ("validate", "alerts_check"))

    alerts = [a for a in list_alerts(target, 50) if a.kind == "RUN_FAILED"]
    by_date = {d: [a for a in alerts if a.business_date == d] for d in (dt.date(2026, 1, 2), dt.date(2026, 1, 5))}
    # 2026-01-02: dq run recorded RUN_FAILED itself (the classification call and the DAG run), the callback
    # did not add a duplicate
    assert len(by_date[dt.date(2026, 1, 2)]) == 2
    assert all(a.reason_code == "MISSING_FILE" and "task_id" not in a.details for a in by_date[dt.date(2026, 1, 2)])
    # 2026-01-05: dq run exited 2 before recording anything: the DAG's on-failure callback recorded it
    [cb] = by_date[dt.date(2026, 1, 5)]
    assert cb.details == {"dag_id": "cdm_daily", "task_id": "run"} and "source folder" in cb.message
    assert cb.reason_code == "TRANSFORM_ERROR"  # no code in dq's output: the DAG's fallback (escalate)
