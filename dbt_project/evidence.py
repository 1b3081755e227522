"""Run evidence: `reports/run_evidence/<run_id>.json`, one file per run, rerun, backfill and validate.

The contract is docs/schemas/run_evidence.schema.json (JSON Schema 2020-12; a contract test validates real
files against it). A file carries the registry rows of the run, every dbt node with its rows and timings,
the source file fingerprints (sha256, size, rows) and each manifest's sha256, the retries and abandoned
runs it handled, the DQ summary when a validation ran, and the downstream decision (unblock / hold).
$DQ_EVIDENCE_DIR moves the folder (tests use a temporary one).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from . import registry
from .project import root

SCHEMA_VERSION = 1


def evidence_dir() -> Path:
    env = os.environ.get("DQ_EVIDENCE_DIR")
    p = Path(env) if env else root() / "reports" / "run_evidence"
    p = p if p.is_absolute() else root() / p
    p.mkdir(parents=True, exist_ok=True)
    return p


def schema_path() -> Path:
    return root() / "docs" / "schemas" / "run_evidence.schema.json"


def _write(doc: dict) -> Path:
    path = evidence_dir() / f"{doc['run_id']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a file
    return path


def _base(run_id: str, trace_id: str, job: str, target: str, from_date: dt.date, to_date: dt.date) -> dict:
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "trace_id": trace_id, "job": job, "target": target,
            "from_date": from_date.isoformat(), "to_date": to_date.isoformat(), "host": registry.host(),
            "version_tag": registry.version_tag(), "release_id": registry.release_id()}


def _dq_summary(target: str, from_date: dt.date, to_date: dt.date) -> dict | None:
    """The latest validation of each layer for the dates (meta.dq_results), or None when none ran."""
    from .warehouse import Warehouse

    with Warehouse(target) as wh:
        if not wh.table_exists("meta", "dq_results"):
            return None
        p = wh.param
        rows = wh.query(
            "select layer, run_id, status, count(*) from meta.dq_results r where business_date between "
            f"{p} and {p} and run_id = (select max(q.run_id) from meta.dq_results q where q.layer = r.layer "
            f"and q.business_date between {p} and {p}) group by layer, run_id, status order by layer",
            [from_date, to_date, from_date, to_date])
    if not rows:
        return None
    layers: dict[str, dict] = {}
    for layer, run_id, status, n in rows:
        layers.setdefault(layer, {"run_id": run_id, "checks": {}})["checks"][status] = int(n)
    ok = all(set(v["checks"]) <= {"PASS", "WARN"} for v in layers.values())
    return {"ok": ok, "layers": layers}


def write_run_evidence(r) -> Path:
    """The evidence of a run / rerun / backfill (an ops.Runner at its end)."""
    res = r.res
    decision, why = res.downstream_decision
    doc = _base(res.run_id, res.trace_id, res.job, res.target, res.from_date, res.to_date) | {
        "status": res.status, "reason_code": res.reason_code, "run_reason": res.run_reason,
        "started_at": res.started_at.isoformat(), "finished_at": (res.finished_at or registry.now()).isoformat(),
        "registry": [s.as_dict() for s in res.steps],
        "models": res.models,
        "sources": res.sources,
        "manifests": res.manifests,
        "retries": res.retries,
        "abandoned": [{k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in a.items()}
                      for a in res.abandoned],
        "dq_summary": _safe_dq_summary(res.target, res.from_date, res.to_date),
        "downstream_decision": decision,
        "decision_reason": why,
        "resume_command": res.resume_command,
    }
    return _write(doc)


def _safe_dq_summary(target, d1, d2):
    from .warehouse import ConnectionFailed

    try:
        return _dq_summary(target, d1, d2)
    except ConnectionFailed:  # the warehouse went away at the end of a failed run: the file says so
        return {"ok": False, "layers": {}, "error": "warehouse unreachable when the evidence was written"}


def write_validation_evidence(run) -> Path:
    """The evidence of a `dq validate` (a validate.ValidationRun): its checks as the DQ summary."""
    layers: dict[str, dict] = {}
    for c in run.results:
        layers.setdefault(c.layer, {"run_id": run.run_id, "checks": {}})["checks"].setdefault(c.status, 0)
        layers[c.layer]["checks"][c.status] += 1
    failed = [c for c in run.results if c.status not in ("PASS", "WARN")]
    now = registry.now().isoformat()
    doc = _base(run.run_id, os.environ.get("DQ_TRACE_ID") or run.run_id, "validate", run.target,
                run.business_date, run.business_date) | {
        "status": "success" if run.ok else "failed",
        "reason_code": failed[0].reason_code if failed else None,
        "run_reason": None,
        "started_at": now, "finished_at": now,
        "registry": [], "models": [], "sources": [], "manifests": [], "retries": [], "abandoned": [],
        "dq_summary": {"ok": run.ok, "layers": layers, "not_built": run.not_built,
                       "failed_checks": [{"layer": c.layer, "check": c.check, "table": c.table,
                                          "reason_code": c.reason_code, "observed": c.observed} for c in failed]},
        "downstream_decision": "unblock" if run.ok else "hold",
        "decision_reason": "every check passed" if run.ok else f"{len(failed)} check(s) failed",
        "resume_command": None,
    }
    return _write(doc)


def read(run_id: str) -> dict | None:
    path = evidence_dir() / f"{run_id}.json"
    return json.loads(path.read_text()) if path.exists() else None
