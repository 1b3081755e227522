"""`dq plan --date D`: the recovery decision tree (source 000: retry / rerun / replay / backfill / restore).

Reads the latest run of the date in meta.etl_runs and its evidence file, and recommends ONE action with
the reason code that justifies it, the exact command, and the operator checklist:

* nothing ran for D ............................ backfill   `dq backfill --from D --to D`
* a run holds D now (lock taken) ............... retry      wait for it: `dq run --date D --wait 3600`
* `running` rows but the lock is free .......... rerun      the process died (abandoned): `dq rerun --date D --layer L`
* the latest run failed with code C ............ C's action (reason_codes.py):
    retry    → `dq run --date D --from-layer L`                    (transient: CONNECTIVITY, LOCK_TIMEOUT)
    rerun    → `dq rerun --date D --layer L --reason C`
    replay   → re-land the files, then `dq rerun --date D --layer ingest --reason C`
    backfill → `dq backfill --from D --to <current business date> `
    restore  → `dq release rollback <latest release> --yes` (it runs `dq smoke`); no release: say how to make one
    escalate → hand the evidence to engineering; after their fix `dq rerun --date D --layer L --reason C`
* the latest run succeeded ..................... none       downstream unblocked
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import registry
from .project import default_target, profile
from .reason_codes import ReasonCode
from .release import latest_release
from .warehouse import Warehouse


@dataclass
class Plan:
    target: str
    business_date: str
    action: str  # retry | rerun | replay | backfill | restore | escalate | none
    reason_code: str | None
    why: str
    command: str | None
    then: list[str] = field(default_factory=list)
    run_id: str | None = None
    failed_layer: str | None = None
    evidence: str | None = None
    checklist: dict[str, str] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rows"] = [{k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in r.items()}
                     for r in self.rows]
        return d


def _t(target: str) -> str:
    return "" if target == "dev" else f" --target {target}"


def command_for(action: str, code: str | None, day: dt.date, layer: str | None, target: str,
                current: dt.date | None = None, release: str | None = None) -> tuple[str | None, list[str]]:
    """The exact command of an action (and what to do next), for a failure of `layer` on `day`; `release` is
    the latest release a restore can roll back to (meta.releases), None when there is none."""
    t, layer = _t(target), layer or "ingest"
    reason = f" --reason {code}" if code and code != ReasonCode.OPERATOR_REQUEST.value else ""
    validate = f"dq validate --layer all --date {day}{t}"
    if action == "retry":
        return f"dq run --date {day} --from-layer {layer} --wait 3600{t}", [f"dq runs --date {day}{t}", validate]
    if action == "rerun":
        return f"dq rerun --date {day} --layer {layer}{reason}{t}", [validate]
    if action == "replay":
        return (f"dq rerun --date {day} --layer ingest{reason}{t}",
                [f"first re-land <source>/{day}/ (fix the file named in the evidence)", validate])
    if action == "backfill":
        end = max(day, current) if current else day
        return f"dq backfill --from {day} --to {end}{t}", [f"dq backfill --from {day} --to {end} --dry-run{t} first",
                                                           validate]
    if action == "restore":
        if release:
            return (f"dq release rollback {release} --yes{t}",
                    [f"first: dq release diff {release}{t} (what changed since the release)",
                     "the rollback runs the smoke test: it must pass (runbooks/10-release-and-rollback.md)"])
        return (None, [f"no release snapshot on {target}: nothing to roll back to. Redeploy the previous git tag "
                       f"and rebuild the publish layer (dbt build --select cdm_publish{t}), then dq smoke{t}",
                       f"from now on: dq release snapshot --tag <version>{t} before every deploy "
                       "(runbooks/10-release-and-rollback.md)"])
    if action == "escalate":
        return (None, ["hand the evidence file to the engineering team (not the service team's fix)",
                       f"after their fix: dq rerun --date {day} --layer {layer}{reason}{t}", validate])
    return None, []


def _evidence_source(path: str | None) -> str:
    """The ` --source DIR` of the run's own resume command in its evidence file, if it had one."""
    import json
    import re

    if not path:
        return ""
    try:
        resume = json.loads(Path(path).read_text(encoding="utf-8")).get("resume_command") or ""
    except (OSError, ValueError):
        return ""
    found = re.search(r" --source (\S+|'[^']*')", resume)
    return found.group(0) if found else ""


def _checks(wh: Warehouse, day: dt.date) -> str:
    if not wh.table_exists("meta", "dq_results"):
        return f"no validation recorded for {day}: run `dq validate --layer all --date {day}`"
    rows = wh.query(f"select layer, status, count(*) from meta.dq_results r where business_date = {wh.param} "
                    "and run_id = (select max(q.run_id) from meta.dq_results q where q.layer = r.layer "
                    "and q.business_date = r.business_date) group by layer, status order by layer, status", [day])
    if not rows:
        return f"no validation recorded for {day}: run `dq validate --layer all --date {day}`"
    return "; ".join(f"{layer} {status} {n}" for layer, status, n in rows)


def plan(target: str | None, day: dt.date) -> Plan:
    from .evidence import evidence_dir

    target = target or default_target()
    with Warehouse(target) as wh:
        rows = registry.latest_run_rows(wh, day) if wh.table_exists("meta", "etl_runs") else []
        current = registry.current_date(wh, target)
        checks = _checks(wh, day)
        release = latest_release(wh)
    t = _t(target)
    if not rows:
        cmd, then = command_for("backfill", None, day, None, target, None)
        p = Plan(target, day.isoformat(), "backfill", None,
                 f"nothing has run for {day} on {target}: load the date (a gap in the calendar)", cmd, then)
        boundary, decision = "source: not landed yet (meta.ldz_files has no run for the date)", "hold"
    else:
        run_id = rows[0]["run_id"]
        evidence = rows[0].get("evidence_path") or str(evidence_dir() / f"{run_id}.json")
        final = registry.last_attempts(rows)
        running = [r for r in final if r["status"] == "running"]
        failed = next((r for r in final if r["status"] in ("failed", "abandoned")), None)
        if running:
            engine = profile(target)["type"]
            held = not registry.DateLock(target, engine, day).is_free()
            layer = running[0]["layer"]
            if held:
                cmd, then = command_for("retry", ReasonCode.LOCK_TIMEOUT.value, day, rows[0]["layer"], target)
                p = Plan(target, day.isoformat(), "retry", ReasonCode.LOCK_TIMEOUT.value,
                         f"run {run_id} is still working on {day} ({layer}, pid {running[0]['pid']} on "
                         f"{running[0]['host']}): let it finish, or wait for the lock", cmd, then)
            else:
                cmd, then = command_for("rerun", None, day, rows[0]["layer"], target)
                p = Plan(target, day.isoformat(), "rerun", None,
                         f"run {run_id} died during {layer} (status running, no process holds the date's lock): "
                         "abandoned. Rerunning from its first layer reloads the date to the uninterrupted state",
                         cmd, then)
            p.failed_layer = layer
        elif failed and failed["status"] == "abandoned":
            cmd, then = command_for("rerun", None, day, rows[0]["layer"], target)
            p = Plan(target, day.isoformat(), "rerun", None,
                     f"run {run_id} was abandoned during {failed['layer']}", cmd, then, failed_layer=failed["layer"])
        elif failed:
            code = ReasonCode(failed["reason_code"]) if failed["reason_code"] else ReasonCode.TRANSFORM_ERROR
            cmd, then = command_for(code.action, code.value, day, failed["layer"], target, current, release)
            p = Plan(target, day.isoformat(), code.action, code.value,
                     f"{failed['job']} {run_id} failed in {failed['layer']} with {code.value} "
                     f"({'retriable' if code.retriable else 'not retriable'}): {code.description}", cmd, then,
                     failed_layer=failed["layer"])
        else:
            p = Plan(target, day.isoformat(), "none", None,
                     f"the latest run {run_id} of {day} succeeded ({', '.join(r['layer'] for r in final)})", None,
                     [f"dq validate --layer all --date {day}{t}"])
        p.run_id, p.evidence, p.rows = run_id, evidence, rows
        source = _evidence_source(evidence)
        if source and p.command and p.command.startswith(("dq rerun", "dq run", "dq backfill")):
            p.command += source  # the run was given its source folder: the recovery reads the same one
        layer = p.failed_layer
        boundary = ("source: the landed files (fix or re-land the extract, then replay)" if layer == "ingest"
                    else f"output: layer {layer} and everything after it; LDZ input intact" if layer
                    else "none: every layer done")
        decision = "unblock" if p.action == "none" else "hold"
    p.checklist = {
        "failing_partition": f"{target} {day}" + (f" layer {p.failed_layer}" if p.failed_layer else ""),
        "evidence_read": p.evidence or "none (no run yet)",
        "source_output_boundary": boundary,
        "action": p.action + (f" ({p.reason_code})" if p.reason_code else "") + (f": {p.command}" if p.command else ""),
        "checks_result": checks,
        "downstream_decision": decision,
    }
    return p
