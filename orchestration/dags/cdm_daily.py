"""cdm_daily — the daily batch of the CDM warehouse for one business date, as `dq` commands.

    business_date → run → validate → alerts_check

`run` is `dq run --date D` (ingest → rdv → ifl → 360 → publish → ML score + enrichment, one registry row per
layer in meta.etl_runs, a lock per date, evidence in reports/run_evidence/); `validate` is
`dq validate --layer all --date D`; `alerts_check` is `dq alerts check --date D` (ZERO_ROWS / ANOMALY).
Every step is the `dq` CLI (never SQL, never dbt directly), so Airflow and the runbooks run the same thing.
The business date is the DAG param `business_date` when given (manual runs, reruns), else the day before
the run's logical date (a T+1 batch: the run of the 2nd loads the 1st).

Failure handling follows the reason codes (DESIGN.md §7, `dq reason-codes`):
* exit 2 naming a retriable code (CONNECTIVITY, LOCK_TIMEOUT) → the task fails and Airflow retries it
  (DQ_AIRFLOW_RETRIES, default 3; exponential backoff from DQ_AIRFLOW_RETRY_DELAY_SECONDS, default 120);
* any other failure (exit 1: a data or check failure; exit 2: usage/config) → fails at once, no retry
  (AirflowFailException): retrying cannot fix bad data;
* on the final failure, `on_failure_callback` records a RUN_FAILED alert through
  `dq alerts record --kind RUN_FAILED --reason <code>` (meta.etl_alerts, and the webhook when configured) —
  except when `dq run` or `dq alerts check` exited 1: they have recorded their own alerts.

Configuration (environment of the Airflow worker): DQ_BIN (the `dq` executable; default the repo's
.venv/bin/dq), DQ_PROJECT_DIR, DQ_TARGET, DQ_SOURCE, plus the project's own settings (DQ_DUCKDB_PATH,
POSTGRES_*, DQ_ALERT_WEBHOOK_URL). Params `target` and `source` override DQ_TARGET / DQ_SOURCE per run.
This file imports nothing from the project: Airflow runs in its own virtualenv (orchestration/README.md).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowException, AirflowFailException

REPO = Path(os.environ.get("DQ_PROJECT_DIR") or Path(__file__).resolve().parents[2])
DQ_BIN = os.environ.get("DQ_BIN") or str(REPO / ".venv" / "bin" / "dq")
RETRIABLE = ("CONNECTIVITY", "LOCK_TIMEOUT")  # ReasonCode.retriable in dbt_project/reason_codes.py
# steps whose exit 1 has already recorded its alerts: `dq run` (RUN_FAILED of the failed layer) and
# `dq alerts check` (one ZERO_ROWS / ANOMALY alert per breach)
SELF_ALERTING = ("run", "alerts_check")
FALLBACK_REASON = "TRANSFORM_ERROR"  # a failure whose output names no reason code: escalate
REASON = re.compile(r"\b([A-Z][A-Z_]{3,})\b")


def _reason_codes() -> set[str]:
    """The enum, asked from `dq` itself (only when a step failed)."""
    import json

    out = subprocess.run([DQ_BIN, "reason-codes", "--json"], capture_output=True, text=True, timeout=60)
    return {row["code"] for row in json.loads(out.stdout)} if out.returncode == 0 else set(RETRIABLE)


def reason_in(text: str) -> str | None:
    codes = _reason_codes()
    return next((m for m in REASON.findall(text) if m in codes), None)


def dq(*args: str, target: str | None = None) -> str:
    """Run one `dq` command; raise the Airflow exception its outcome calls for."""
    argv = [DQ_BIN, *args] + (["--target", target] if target else [])
    env = {**os.environ, "DQ_PROJECT_DIR": str(REPO)}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO)
    output = (proc.stdout or "") + (proc.stderr or "")
    print(f"$ {' '.join(argv)}  (exit {proc.returncode})\n{output}")
    if proc.returncode == 0:
        return proc.stdout
    reason = reason_in(output) or FALLBACK_REASON
    message = f"dq {args[0]} exited {proc.returncode} reason_code={reason}: {output.strip()[-500:]}"
    if proc.returncode == 2 and reason in RETRIABLE:
        raise AirflowException(message)  # transient: Airflow retries with backoff
    raise AirflowFailException(message)  # data or config failure: no retry


def record_run_failed(context) -> None:
    """on_failure_callback: one RUN_FAILED alert per failed task (after its last retry)."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    text = str(exc or "")
    if ti.task_id in SELF_ALERTING and " exited 1 " in text:
        print(f"{ti.task_id}: dq recorded its own alert(s) in meta.etl_alerts; no RUN_FAILED added")
        return
    match = re.search(r"reason_code=([A-Z_]+)", text)
    reason = match.group(1) if match else (reason_in(text) or FALLBACK_REASON)
    params = context.get("params") or {}
    day = None
    try:
        day = ti.xcom_pull(task_ids="business_date")
    except Exception:  # the date task itself failed
        day = params.get("business_date") or None
    dag_run = context.get("dag_run")
    run_id = getattr(dag_run, "run_id", None) or "unknown"
    argv = [DQ_BIN, "alerts", "record", "--kind", "RUN_FAILED", "--reason", reason, "--run-id", run_id,
            "--message", f"Airflow {ti.dag_id}.{ti.task_id} failed (try {ti.try_number}): {text[:300]}",
            "--detail", f"dag_id={ti.dag_id}", "--detail", f"task_id={ti.task_id}"]
    if day:
        argv += ["--date", str(day)]
    if params.get("target"):
        argv += ["--target", params["target"]]
    proc = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "DQ_PROJECT_DIR": str(REPO)},
                          cwd=REPO)
    print(f"RUN_FAILED alert ({reason}): exit {proc.returncode} {proc.stdout}{proc.stderr}")


default_args = {
    "owner": "cdm-service-team",
    "retries": int(os.environ.get("DQ_AIRFLOW_RETRIES", "3")),
    "retry_delay": dt.timedelta(seconds=float(os.environ.get("DQ_AIRFLOW_RETRY_DELAY_SECONDS", "120"))),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=30),
    "on_failure_callback": record_run_failed,
}

with DAG(
    dag_id="cdm_daily",
    description="CDM warehouse daily batch: dq run (ingest → … → ML) → dq validate → dq alerts check",
    schedule="0 6 * * *",
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["cdm", "dq"],
    params={
        "business_date": Param("", type="string", description="YYYY-MM-DD; empty: the day before the logical date"),
        "target": Param(os.environ.get("DQ_TARGET", "dev"), type="string", description="dbt target"),
        "source": Param(os.environ.get("DQ_SOURCE", ""), type="string",
                        description="landed extract root; empty: the project's default (data/extract)"),
    },
    doc_md=__doc__,
) as dag:

    @task(retries=0)
    def business_date(**context) -> str:
        given = (context["params"].get("business_date") or "").strip()
        if given:
            return dt.date.fromisoformat(given).isoformat()
        anchor = context.get("logical_date") or context["dag_run"].run_after
        return (anchor.date() - dt.timedelta(days=1)).isoformat()

    @task
    def run(day: str, **context) -> None:
        source = context["params"].get("source")
        dq("run", "--date", day, *(["--source", source] if source else []), target=context["params"]["target"])

    @task
    def validate(day: str, **context) -> None:
        dq("validate", "--layer", "all", "--date", day, target=context["params"]["target"])

    @task
    def alerts_check(day: str, **context) -> None:
        dq("alerts", "check", "--date", day, target=context["params"]["target"])

    day = business_date()
    run(day) >> validate(day) >> alerts_check(day)
