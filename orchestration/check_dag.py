"""Checks the cdm_daily DAG inside the Airflow virtualenv (run by tests/test_airflow_dag.py; prints one JSON).

1. the DAG folder imports with no error (Airflow's own DagBag), task order, retries and callbacks;
2. `dq()` classifies outcomes by reason code: a transient failure (CONNECTIVITY) raises AirflowException
   (Airflow retries), a data failure (MISSING_FILE) raises AirflowFailException (no retry);
3. `dag.test()` of 2026-01-02 against an extract root without that date: `dq run` fails (exit 1, MISSING_FILE,
   it records its own RUN_FAILED alert), the task is not retried, downstream is upstream_failed;
4. `dag.test()` of 2026-01-05 against a source root that does not exist: `dq run` exits 2 naming no reason
   code, the task fails without retry and the on-failure callback records the RUN_FAILED alert.
The test reads the alerts back from the warehouse. `check_dag.py happy SOURCE DATE` instead test-runs one
business date end to end (dq run → validate → alerts check) against a warehouse holding the earlier dates.

Needs AIRFLOW_HOME migrated (`airflow db migrate`), DQ_BIN, a target the environment points at; argv[1] = an
extract root without the dates, argv[2] = a path that does not exist.
"""

import json
import os
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowException, AirflowFailException

DAGS = Path(__file__).resolve().parent / "dags"
sys.path.insert(0, str(DAGS))
out: dict = {}
bag = DagBag(str(DAGS))
out["import_errors"] = {k: str(v) for k, v in bag.import_errors.items()}
dag = bag.get_dag("cdm_daily")
out["tasks"] = {t.task_id: {"downstream": sorted(t.downstream_task_ids), "retries": t.retries,
                            "on_failure_callback": bool(t.on_failure_callback)} for t in dag.tasks}

import cdm_daily  # noqa: E402 - the same module, for its helper

if sys.argv[1] == "happy":  # `check_dag.py happy SOURCE DATE`: one business date end to end
    dr = dag.test(run_conf={"business_date": sys.argv[3], "source": sys.argv[2]})
    out["happy"] = {"state": str(dr.state),
                    "tasks": {ti.task_id: [str(ti.state), ti.try_number] for ti in dr.get_task_instances()}}
    print("CHECK_DAG_JSON " + json.dumps(out))
    sys.exit(0)

source = sys.argv[1]
for name, env, args in (
    ("transient", {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "1"}, ("run", "--date", "2026-01-02",
                                                                         "--source", source)),
    ("data", {}, ("run", "--date", "2026-01-02", "--source", source)),
):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        cdm_daily.dq(*args, target="postgres" if env else None)
        out[name] = "ok"
    except AirflowFailException as exc:
        out[name] = ["AirflowFailException", str(exc)[:200]]
    except AirflowException as exc:
        out[name] = ["AirflowException", str(exc)[:200]]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

for name, day, src in (("missing_date", "2026-01-02", source), ("missing_root", "2026-01-05", sys.argv[2])):
    dr = dag.test(run_conf={"business_date": day, "source": src})
    out[name] = {"state": str(dr.state),
                 "tasks": {ti.task_id: [str(ti.state), ti.try_number] for ti in dr.get_task_instances()}}
print("CHECK_DAG_JSON " + json.dumps(out))
