"""`dq plan --date D`: the recovery decision tree (source 000: retry / rerun / replay / backfill / restore).

Reads the latest run of the date in meta.etl_runs with its evidence file, the date's latest landing
(meta.ldz_files), its latest validation (meta.dq_results) and the target's latest `dq smoke` (its evidence
file: smoke writes nothing into the warehouse), and recommends ONE action with the reason code
that justifies it, what to do first, the exact command, and the operator checklist. The first that applies:

* a run holds D now (lock taken) ............... retry      wait for it: `dq run --date D --wait 3600`
* `running` rows but the lock is free .......... rerun      the process died (abandoned): `dq rerun --date D --layer L`
* the latest run is a rollback whose smoke failed  escalate   rolling back again changes nothing: redeploy the
                                                              previous code, roll back further or rebuild publish
                                                              by the failed checks, then `dq smoke` (a passing smoke
                                                              after it settles the rollback)
* the latest run failed with code C ............ C's action (reason_codes.py), judged on each layer's last attempt:
    retry    → `dq run --date D --from-layer L`                    (transient: CONNECTIVITY, LOCK_TIMEOUT)
    rerun    → `dq rerun --date D --layer L --reason C`           (a failed ingest is replayed instead)
    replay   → first re-land the files, then `dq rerun --date D --layer ingest --reason C`
    backfill → `dq backfill --from D --to <current business date>` (its --dry-run first)
    restore  → `dq release rollback <latest release> --yes` (it runs `dq smoke`); no release: say how to make one
    escalate → hand the evidence to the code's owner (the source team, data science, the mapping owner,
               else engineering); after their fix `dq rerun --date D --layer L --reason C`. ML with too little
               data (ZERO_ROWS in ml) is escalated too: rerunning it finds the same data
* a smoke after the latest run failed .......... restore    `dq release rollback <latest release> --yes` when the
                                                              published data fails; date_control failed: rerun
                                                              (fix the calendar, then `dq smoke`); parse/compile
                                                              failed: escalate (redeploy the previous code)
* a `dq ingest` of D since the run failed a file  that code's action (replay); with several failed files the
                                                  action that must come first (escalate before replay), all named
* nothing landed or run for D .................. backfill   `dq backfill --from D --to D`
* the vault holds rows of D its latest landing   escalate   (`<table>.<link or satellite>_rows_in_ldz`: no rerun
  no longer has                                              removes rows from the insert-only vault; a fuller
                                                              delivery re-landed and replayed does)
* validation since the run/landing fails ....... the failing check's action, from the layer its checks cover
* open alerts of D since the run (`dq alerts check`, not acknowledged)  their code's action (ZERO_ROWS: rerun,
                                                              replay for an LDZ table; ANOMALY: escalate)
* a `dq ingest` of D since the run, nothing validated since  rerun from rdv (build the layers above LDZ)
* rows of D quarantined in ldz.ldz_rejects ..... escalate   (`dq rejects`; the source corrects them, then replay)
* otherwise .................................... none       (then `dq validate --layer all`, unless every layer
                                                              was validated since, all checks passing)

Commands that land files carry `--source` of the folder the date was landed from (meta.ldz_files.source_root;
for a date never landed, the latest landing's) when it is not the default. A run that lost the warehouse
before it could record its end (rows still `running`, lock free) is judged by its evidence file.

The downstream decision is the run's (registry.downstream_decision: hold while a step failed or runs, or when
nothing reached cdm_publish), and hold while the latest validation or a smoke since the run fails or an
alert since the run is open; a date
landed without a run is unblocked only by a passing validation of cdm_publish since the landing.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import registry
from .ldz import latest_loads_sql
from .load_window import built_as_of
from .ops import source_root
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
    first: list[str] = field(default_factory=list)  # to do before the command (re-land the files, a dry run)
    decision_reason: str = ""
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
                current: dt.date | None = None, release: str | None = None) -> tuple[list[str], str | None, list[str]]:
    """What to do first, the exact command of an action, and what to do next, for a failure of `layer` on
    `day`; `release` is the latest release a restore can roll back to (meta.releases), None when there is
    none."""
    t, layer = _t(target), layer or "ingest"
    reason = f" --reason {code}" if code and code != ReasonCode.OPERATOR_REQUEST.value else ""
    validate = f"dq validate --layer all --date {day}{t}"
    if action == "retry":
        return [], f"dq run --date {day} --from-layer {layer} --wait 3600{t}", [f"dq runs --date {day}{t}", validate]
    if action == "rerun":
        return [], f"dq rerun --date {day} --layer {layer}{reason}{t}", [validate]
    if action == "replay":
        return ([f"re-land <source>/{day}/: fix or re-deliver the failed file(s) named above, with the manifest"],
                f"dq rerun --date {day} --layer ingest{reason}{t}", [validate])
    if action == "backfill":
        end = max(day, current) if current else day
        return ([f"dq backfill --from {day} --to {end} --dry-run{t}"], f"dq backfill --from {day} --to {end}{t}",
                [validate])
    if action == "restore":
        if release:
            return ([f"dq release diff {release}{t} (what changed since the release)"],
                    f"dq release rollback {release} --yes{t}",
                    ["the rollback runs the smoke test: it must pass (runbooks/10-release-and-rollback.md)"])
        return ([], None, [f"no release snapshot on {target}: nothing to roll back to. Redeploy the previous git tag "
                       f"and rebuild the publish layer (dbt build --select cdm_publish{t}), then dq smoke{t}",
                       f"from now on: dq release snapshot --tag <version>{t} before every deploy "
                       "(runbooks/10-release-and-rollback.md)"])
    if action == "escalate":
        owner = _OWNER.get((code or "", layer)) or _OWNER.get((code or "", "")) or _OWNER[("", "")]
        return ([], None, [f"hand the evidence file to {owner}",
                           f"after their fix: dq rerun --date {day} --layer {layer}{reason}{t}", validate])
    return [], None, []


# who fixes what the service team escalates (by reason code, and layer where it matters), as the runbooks say
_OWNER = {
    ("", ""): "the engineering team (not the service team's fix)",
    ("SCHEMA_MISMATCH", "ingest"): "the source team: the file's columns changed (runbook 02)",
    ("BAD_VALUE", ""): "the source team, with `dq rejects` (runbook 02)",
    ("NULL_KEY", ""): "the source team, with `dq rejects` (runbook 02)",
    ("DUPLICATE_KEY", "ingest"): "the source team, with `dq rejects` (runbook 02)",
    ("MAPPING_MISSING", ""): "the source/marketing owner (what the code means), then add its row to the mapping "
                             "seed, reviewed and deployed like code (runbook 05 A)",
    ("ML_SCORE_INVALID", ""): "data science: the scores they wrote back are invalid (runbook 04)",
    ("ZERO_ROWS", "ml"): "data science: too little data to train or score (e.g. no responders yet on a new "
                         "warehouse; runbook 04)",
    ("ANOMALY", ""): "the source owner first (is the delivered data right? runbook 08), engineering if it is",
}


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


def _landed_source(wh: Warehouse, day: dt.date) -> str | None:
    """The extract root the date was last landed from (meta.ldz_files.source_root). For a date never landed: the
    default root when it holds the date's folder, else the latest landing's root that does (None: neither)."""
    if not wh.column_exists("meta", "ldz_files", "source_root"):
        return None
    p = wh.param
    found = wh.query(f"select source_root from meta.ldz_files where business_date = {p} and source_root is not null "
                     "order by loaded_at desc, load_id desc limit 1", [day])
    if found:
        return found[0][0]
    if (source_root(None) / day.isoformat()).is_dir():
        return None
    roots = wh.query("select source_root from meta.ldz_files where source_root is not null "
                     "group by source_root order by max(loaded_at) desc, max(load_id) desc")
    return next((r for (r,) in roots if (Path(r) / day.isoformat()).is_dir()), None)


def _reads_source(command: str) -> bool:
    """Whether a printed command lands files (so it needs the extract root)."""
    return command.startswith("dq backfill") or " --layer ingest" in command or (
        command.startswith("dq run ") and "--from-layer" not in command) or " --from-layer ingest" in command


def _with_source(command: str | None, source: str) -> str | None:
    if not command or not source or " --source " in command or not _reads_source(command):
        return command
    return f"{command} {source}"


def _rejected_by_code(wh: Warehouse, day: dt.date) -> dict[str, int]:
    """The date's quarantined rows per reason code (ldz.ldz_rejects holds each table's latest landing)."""
    if not wh.table_exists("ldz", "ldz_rejects"):
        return {}
    rows = wh.query(f"select reason_code, count(*) from ldz.ldz_rejects where business_date = {wh.param} "
                    "group by reason_code order by reason_code", [day])
    return {code: int(n) for code, n in rows}


def _failing_checks(wh: Warehouse, day: dt.date) -> set[str]:
    """The names of the checks failing in each layer's latest validation of the date."""
    if not wh.table_exists("meta", "dq_results"):
        return set()
    return {r[0] for r in wh.query(
        f"select check_name from meta.dq_results r where business_date = {wh.param} and status = 'FAIL' and "
        "run_id = (select max(q.run_id) from meta.dq_results q where q.layer = r.layer "
        "and q.business_date = r.business_date)", [day])}


# the order in which one landing's failed files are answered: the action that must come first wins (a file the
# source must redesign is escalated before the files that only need re-landing)
_ACTION_ORDER = ("escalate", "restore", "backfill", "replay", "rerun", "retry")


def _worst_file(files: list[dict]) -> tuple[ReasonCode, str]:
    """The reason code to act on for a landing's failed files, and every failed table with its code."""
    codes = [(ReasonCode(f["reason_code"]), f["table_name"]) for f in files]
    code = min(codes, key=lambda c: _ACTION_ORDER.index(_action(c[0], "ingest")))[0]
    return code, ", ".join(f"{table} {c.value}" for c, table in codes)


def _registry_from_evidence(rows: list[dict], path: Path) -> bool:
    """A run that lost the warehouse could not record its end: its rows stay `running`, but its evidence file
    (written at the end) has the steps' outcomes. Copies them onto the rows; True when it did."""
    import json

    try:
        steps = json.loads(path.read_text(encoding="utf-8")).get("registry") or []
    except (OSError, ValueError):
        return False
    ended = {(s["layer"], int(s["attempt"]), str(s["from_date"])[:10]): s for s in steps
             if s.get("status") and s["status"] != "running"}
    changed = False
    for r in rows:
        s = ended.get((r["layer"], int(r["attempt"]), str(r["from_date"])[:10]))
        if r["status"] == "running" and s:
            r.update(status=s["status"], reason_code=s.get("reason_code"), err_msg=s.get("err_msg"))
            changed = True
    return changed


def _checks(wh: Warehouse, day: dt.date) -> list[tuple]:
    """The latest validation of each layer for the date (meta.dq_results): (layer, status, reason_code,
    checks, checked_at) per outcome."""
    if not wh.table_exists("meta", "dq_results"):
        return []
    return wh.query(f"select layer, status, reason_code, count(*), max(checked_at) from meta.dq_results r "
                    f"where business_date = {wh.param} and run_id = (select max(q.run_id) from meta.dq_results q "
                    "where q.layer = r.layer and q.business_date = r.business_date) "
                    "group by layer, status, reason_code order by layer, status, reason_code", [day])


def _checks_text(checks: list[tuple], day: dt.date, since: dt.datetime | None) -> str:
    if not checks:
        return f"no validation recorded for {day}: run `dq validate --layer all --date {day}`"
    counts: dict[tuple[str, str], int] = {}
    for layer, status, _code, n, _at in checks:
        counts[(layer, status)] = counts.get((layer, status), 0) + int(n)
    text = "; ".join(f"{layer} {status} {n}" for (layer, status), n in counts.items())
    if since and max(at for *_x, at in checks) < since:
        text += f" (before the latest run or landing: validate again, `dq validate --layer all --date {day}`)"
    return text


def _landing(wh: Warehouse, day: dt.date) -> list[dict]:
    """The date's latest landing in meta.ldz_files, one dict per table."""
    if not wh.table_exists("meta", "ldz_files"):
        return []
    p = wh.param
    cols, rows = wh.query_with_columns(
        "select load_id, table_name, status, reason_code, message, rows_rejected, loaded_at from meta.ldz_files "
        f"where business_date = {p} and load_id in {latest_loads_sql()} order by table_name", [day])
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _latest_smoke(target: str) -> dict | None:
    """The newest `dq smoke` of the target from its evidence file (smoke writes nothing into the warehouse):
    finished_at, ok, unreachable, failed_checks, path; None when no smoke ran from this machine."""
    import json

    from .evidence import evidence_dir

    found = []
    for path in evidence_dir().glob("smoke-*.json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("target") == target:
                found.append((dt.datetime.fromisoformat(doc["finished_at"]), doc, path))
        except (OSError, ValueError, KeyError):
            continue
    if not found:
        return None
    finished, doc, path = max(found, key=lambda f: f[0])
    summary = doc.get("dq_summary") or {}
    return {"finished_at": finished, "ok": doc.get("status") == "success", "path": str(path),
            "unreachable": "unreachable" in (doc.get("decision_reason") or ""),
            "failed_checks": summary.get("failed_checks") or []}


def _open_alerts(wh: Warehouse, day: dt.date) -> list[dict]:
    """The date's ZERO_ROWS / ANOMALY alerts (`dq alerts check`) no operator acknowledged, newest first."""
    if not wh.table_exists("meta", "etl_alerts"):
        return []
    acked = " and acknowledged_at is null" if wh.column_exists("meta", "etl_alerts", "acknowledged_at") else ""
    cols, rows = wh.query_with_columns(
        "select alert_id, kind, reason_code, layer, table_name, message, created_at from meta.etl_alerts where "
        f"business_date = {wh.param} and kind in ('ZERO_ROWS', 'ANOMALY'){acked} order by created_at desc", [day])
    return [dict(zip(cols, r, strict=True)) for r in rows]


# what an alert's layer reruns (alerts.MONITORED: an LDZ table that got too few rows is replayed)
_ALERT_LAYER = {"ldz": "ingest", "rdv": "rdv", "360": "360", "c360": "360", "publish": "publish"}

# what a failing check of a `dq validate` layer reruns: the ldz checks compare LDZ with the vault built from it
_CHECK_LAYER = {"ldz": "rdv", "rdv": "rdv", "ifl": "ifl", "360": "360", "c360": "360", "publish": "publish"}


def _action(code: ReasonCode, layer: str | None) -> str:
    """The code's action; a failure of the ingest layer is replayed (rerunning it reads the same files), and
    ML that had too little to train or score on is escalated (rerunning it finds the same data)."""
    if layer == "ml" and code is ReasonCode.ZERO_ROWS:
        return "escalate"
    return "replay" if layer == "ingest" and code.action == "rerun" else code.action


def _failed_smoke(smoke: dict, make, target: str, day: dt.date) -> Plan:
    """A failing `dq smoke`: a release rollback only when the published data is what fails. A wrong calendar
    fails publish_validation too (no rows as of that date): the calendar is fixed, not the data; code that
    does not parse or compile is redeployed, not the data."""
    t, checks = _t(target), smoke["failed_checks"]
    why = f"the latest smoke ({smoke['path']}) failed after the latest run: {', '.join(checks)}"
    code = ReasonCode.SMOKE_FAILED.value
    if "date_control" in checks and set(checks) <= {"date_control", "publish_validation"}:
        return Plan(target, day.isoformat(), "rerun", code,
                    f"{why}. The calendar is wrong (publish_validation then finds no rows as of its date): fix it, "
                    "not the data — no rollback (runbook 09)", f"dq smoke{t}", [f"dq plan --date {day}{t}"],
                    [f"dq dates{t}: compare the current business date with 'built as of', then "
                     f"dq dates set <the right date>{t}"], failed_layer="publish")
    if {"parse", "compile"} & set(checks):
        return Plan(target, day.isoformat(), "escalate", code,
                    f"{why}. The deployed code does not parse or compile: the data is not the problem — no "
                    "rollback of cdm_publish (runbook 09)", f"dq smoke{t}",
                    ["still failing: hand the smoke's evidence to engineering"],
                    ["redeploy the previous git tag (the code that passed smoke)"], failed_layer="publish")
    p = make("restore", code, f"{why}. {ReasonCode.SMOKE_FAILED.description}", "publish")
    if "release_compat" in checks:  # the deployed code dropped or retyped a published column: the next build would
        p.first.insert(0, "redeploy the previous git tag first (the deployed code changed a published version's "
                          "columns; the next build would undo the rollback)")
    return p


def plan(target: str | None, day: dt.date) -> Plan:
    from .evidence import evidence_dir

    target = target or default_target()
    with Warehouse(target) as wh:
        rows = registry.latest_run_rows(wh, day) if wh.table_exists("meta", "etl_runs") else []
        current = registry.current_date(wh, target)
        checks = _checks(wh, day)
        landing = _landing(wh, day)
        open_alerts = _open_alerts(wh, day)
        release = latest_release(wh)
        landed_source = _landed_source(wh, day)
        built = built_as_of(wh)
        rejected_codes = _rejected_by_code(wh, day)
        failing_checks = _failing_checks(wh, day)
    t = _t(target)
    unrecorded = False  # the run ended but could not record it (the warehouse was gone)
    if any(r["status"] == "running" for r in rows) and \
            registry.DateLock(target, profile(target)["type"], day).is_free():
        unrecorded = _registry_from_evidence(
            rows, Path(rows[0].get("evidence_path") or evidence_dir() / f"{rows[0]['run_id']}.json"))
    final = registry.last_attempts(rows)
    run_end = max((r["finished_at"] or r["started_at"] for r in rows), default=None)
    landed_at = max((x["loaded_at"] for x in landing), default=None)
    landed_after = bool(landed_at and (run_end is None or landed_at > run_end))  # a `dq ingest` since the run
    since = landed_at if landed_after else run_end
    failing = [c for c in checks if c[1] != "PASS" and (since is None or c[4] >= since)]
    rejected = sum(int(x["rows_rejected"] or 0) for x in landing)
    alerts_after = [a for a in open_alerts if since is None or a["created_at"] >= since]

    def make(action: str, code: str | None, why: str, layer: str | None) -> Plan:
        first, cmd, then = command_for(action, code, day, layer, target, current, release)
        return Plan(target, day.isoformat(), action, code, why, cmd, then, first, failed_layer=layer)

    running = [r for r in final if r["status"] == "running"]
    failed = next((r for r in final if r["status"] in ("failed", "abandoned")), None)
    failed_files = [x for x in landing if x["status"] == "FAILED"]
    if failed and failed["layer"] == "ingest" and landed_after:  # landed again since: that landing is the news
        failed = None
    ml_past = bool(failed and failed["layer"] == "ml" and built and built > day)
    if ml_past:  # scores are made for the latest as-of date only: a past date's ML cannot be redone, nor need be
        failed = None
    smoke = _latest_smoke(target)
    smoke_after = smoke if smoke and (run_end is None or smoke["finished_at"] > run_end) else None
    mended = bool(failed and failed["job"] == "rollback" and smoke_after and smoke_after["ok"])
    if mended:  # a smoke passed after the failed rollback: the deploy was put right
        failed = None
    if running:
        run_id, layer = rows[0]["run_id"], running[0]["layer"]
        if not registry.DateLock(target, profile(target)["type"], day).is_free():
            p = make("retry", ReasonCode.LOCK_TIMEOUT.value,
                     f"run {run_id} is still working on {day} ({layer}, pid {running[0]['pid']} on "
                     f"{running[0]['host']}): let it finish, or wait for the lock", rows[0]["layer"])
        else:
            p = make("rerun", None, f"run {run_id} died during {layer} (status running, no process holds the date's "
                     "lock): abandoned. Rerunning from its first layer reloads the date to the uninterrupted state",
                     rows[0]["layer"])
        p.failed_layer = layer
    elif failed and failed["status"] == "abandoned":
        p = make("rerun", None, f"run {rows[0]['run_id']} was abandoned during {failed['layer']}", rows[0]["layer"])
        p.failed_layer = failed["layer"]
    elif failed and failed["job"] == "rollback" and failed["reason_code"] == ReasonCode.SMOKE_FAILED.value:
        smoke_checks = (failed["err_msg"] or "").partition("smoke failed: ")[2]
        fixes = {("parse", "compile", "release_compat"): "parse / compile / release_compat failed: the deployed code "
                                                         "is the problem — redeploy the previous git tag",
                 ("publish_contracts", "publish_validation"):
                     f"{'/'.join(c for c in ('publish_contracts', 'publish_validation') if c in smoke_checks)} failed: "
                     f"the release itself holds the problem — roll back to an older one (dq release list{t}) or "
                     f"rebuild the publish layer (dbt build --select cdm_publish{t})",
                 ("date_control",): f"date_control failed: fix the calendar (dq dates set <date>{t})"}
        first = [fix for names, fix in fixes.items() if any(n in smoke_checks for n in names)] or list(fixes.values())
        p = Plan(target, day.isoformat(), "escalate", ReasonCode.SMOKE_FAILED.value,
                 f"rollback {failed['run_id']} restored release {failed.get('release_id')}, but smoke still fails "
                 f"({smoke_checks or 'see its evidence'}): consumers now read that release, and rolling back to it "
                 "again changes nothing", f"dq smoke{t}",
                 ["still failing: hand the rollback's evidence and the smoke's to engineering"], first,
                 failed_layer=failed["layer"])
    elif failed:
        code = ReasonCode(failed["reason_code"]) if failed["reason_code"] else ReasonCode.TRANSFORM_ERROR
        files = ""
        if failed["layer"] == "ingest" and len(failed_files) > 1:  # the run names one code; the landing has all
            code, listed = _worst_file(failed_files)
            files = f"; failed files: {listed}"
        p = make(_action(code, failed["layer"]), code.value,
                 f"{failed['job']} {failed['run_id']} failed in {failed['layer']} with {code.value} "
                 f"({'retriable' if code.retriable else 'not retriable'}): {code.description}{files}"
                 + (" (the registry still says `running`: the warehouse was unreachable when the run ended; its "
                    "evidence file has the outcome)" if unrecorded else ""), failed["layer"])
    elif smoke_after and not smoke_after["ok"] and not smoke_after["unreachable"]:
        p = _failed_smoke(smoke_after, make, target, day)
    elif landed_after and failed_files:
        code, listed = _worst_file(failed_files)
        worst = next(f for f in failed_files if f["reason_code"] == code.value)
        p = make(_action(code, "ingest"), code.value,
                 f"landing {worst['load_id']} (`dq ingest`, after the latest run) failed {listed}; first "
                 f"{worst['table_name']}: {worst['message']}", "ingest")
    elif not rows and not landing:
        p = make("backfill", None, f"nothing has been landed or run for {day} on {target}: load the date "
                 "(a gap in the calendar)", None)
    elif failing and (not_in_ldz := sorted(c for c in failing_checks if c.endswith("_rows_in_ldz"))):
        p = Plan(target, day.isoformat(), "escalate", ReasonCode.ROW_COUNT_MISMATCH.value,
                 f"the latest validation of {day} fails {', '.join(not_in_ldz)}: the vault holds rows of {day} that "
                 "its latest landing no longer has (landed again with fewer rows, or rows now quarantined). The "
                 "vault is insert-only: no rerun or build removes them",
                 None, [f"dq validate --layer ldz --date {day}{t} lists the rows: ask the source team whether the "
                        f"latest delivery of {day} is complete",
                        "it is (the source retracted those rows): hand the rows and the evidence to engineering — "
                        "removing rows from the vault is a restore"],
                 [f"it is not (an earlier, fuller delivery is right; the check then passes): re-land that delivery, "
                  f"then dq rerun --date {day} --layer ingest --reason ROW_COUNT_MISMATCH{t} --source <its folder>"],
                 failed_layer="ingest")
    elif failing:
        layer, _status, code_text, n, _at = failing[0]
        code = ReasonCode(code_text)
        p = make(code.action, code.value, f"the latest validation of {day} fails: {layer} {n} check(s) with "
                 f"{code.value} ({code.description}) — `dq validate --layer {layer} --date {day}{t}` shows the rows",
                 _CHECK_LAYER.get(layer, layer))
    elif alerts_after:
        a = alerts_after[0]
        code = ReasonCode(a["reason_code"])
        layer = _ALERT_LAYER.get(a["layer"], a["layer"])
        p = make(_action(code, layer), code.value,
                 f"{len(alerts_after)} open alert(s) of {day} since the latest run ({a['kind']} on {a['table_name']}: "
                 f"{a['message']}); after looking into one you accept: dq alerts ack {a['alert_id'][:8]} --note WHY",
                 layer)
    elif landed_after and not any(c[0] == "publish" and c[1] == "PASS" and c[4] >= since for c in checks):
        p = make("rerun", None, f"{day} was landed by `dq ingest` ({landing[0]['load_id']}) after the latest run, "
                 "and nothing validated the layers above LDZ since: build them from the vault on (already built "
                 f"with `dq build`? then validate instead: dq validate --layer all --date {day}{t})", "rdv")
    elif rejected:
        codes = sorted(rejected_codes) or sorted({x["reason_code"] for x in landing if x["rows_rejected"]
                                                  and x["reason_code"]})
        code = ReasonCode(codes[0]) if codes else ReasonCode.BAD_VALUE
        by_code = ", ".join(f"{c} {rejected_codes[c]}" if c in rejected_codes else c for c in codes)
        p = make(code.action, code.value, f"{rejected} row(s) of {day} are quarantined in ldz.ldz_rejects "
                 f"({by_code}); the rest loaded. `dq rejects --date {day}{t}` lists them: have the source "
                 "correct them, re-land and replay the date", "ingest")
        p.then = [f"dq rejects --date {day} --json{t}: send them to the source team (runbook 02)",
                  f"after their corrected delivery: re-land <source>/{day}/, then dq rerun --date {day} --layer ingest"
                  f" --reason {code.value}{t}"]
    else:
        what = (f"rollback {rows[0]['run_id']} failed its smoke; a later smoke passed ({smoke_after['path']}): "
                "settled" if mended else
                f"the latest run {rows[0]['run_id']} of {day} failed only in ml, and the published tables are now "
                f"as of {built}: scores are made for that date, so there is nothing to redo for {day}" if ml_past else
                f"the latest run {rows[0]['run_id']} of {day} succeeded ("
                + ", ".join(r["layer"] + ("" if r["status"] in ("success", "warning") else f" {r['status']}")
                            for r in final) + ")"
                if rows else f"{day} was landed by `dq ingest` ({landing[0]['load_id']}), with no run recorded "
                "(`dq run`/`rerun`/`backfill` record one)")
        # `dq validate --layer all` since the run or landing, every check passing (ml is validated once scored)
        validated = {"ldz", "rdv", "ifl", "360", "publish"} <= {c[0] for c in checks} and all(
            status == "PASS" and (since is None or at >= since) for _layer, status, _code, _n, at in checks)
        p = Plan(target, day.isoformat(), "none", None, what + ("; every layer validated since, all checks pass"
                                                                if validated else ""), None,
                 [] if validated else [f"dq validate --layer all --date {day}{t}"])
    # the recovery lands from the folder the date came from: the latest landing's (or the run's) extract root
    source = ""
    if landed_source and Path(landed_source).resolve() != source_root(None).resolve():
        source = f"--source {shlex.quote(landed_source)}"
    if rows:
        run_id = rows[0]["run_id"]
        path = rows[0].get("evidence_path") or str(evidence_dir() / f"{run_id}.json")
        p.run_id, p.rows = run_id, rows
        p.evidence = path if Path(path).exists() else (
            f"none: run {run_id} wrote no evidence file (it was killed); read `dq runs --date {day}{t}`")
        source = source or _evidence_source(path).strip()
        decision, decision_why = (("unblock", "a smoke passed after the failed rollback") if mended else
                                  registry.downstream_decision(
                                      [(r["layer"], r["status"], r["reason_code"], r["from_date"]) for r in final]))
    elif landing:
        p.evidence = f"meta.ldz_files, load {landing[0]['load_id']} (`dq ingest` writes no run evidence)"
        published = any(c[0] == "publish" and c[1] == "PASS" for c in checks if since is None or c[4] >= since)
        decision, decision_why = (("unblock", "validated through cdm_publish after the landing") if published
                                  else ("hold", "no run recorded and no passing validation of cdm_publish since the "
                                        "landing"))
    else:
        decision, decision_why = "hold", "not landed yet"
    p.command = _with_source(p.command, source)
    p.first = [_with_source(line, source) for line in p.first]
    p.then = [_with_source(line, source) for line in p.then]
    if landed_source:
        p.first = [line.replace("<source>", landed_source) for line in p.first]
        p.then = [line.replace("<source>", landed_source) for line in p.then]
    if ml_past:
        decision, decision_why = "unblock", f"only ml failed, and the published tables are now as of {built}"
    if failed and failed["job"] == "rollback":
        decision_why = "consumers read the release the rollback restored, and it fails smoke"
    if failing and decision == "unblock":
        decision, decision_why = "hold", "the latest validation fails"
    if smoke_after and not smoke_after["ok"] and not smoke_after["unreachable"] and decision == "unblock":
        decision, decision_why = "hold", "the latest smoke fails"
    if alerts_after and decision == "unblock":
        decision, decision_why = "hold", f"{len(alerts_after)} open alert(s) since the run (dq alerts --date {day})"
    layer = p.failed_layer
    boundary = ("source: not landed yet (no file of the date in meta.ldz_files)" if not landing and not rows
                else "source: the landed files (fix or re-land the extract, then replay)" if layer == "ingest"
                else f"output: layer {layer} and everything after it; LDZ input intact" if layer
                else "none: every layer done")
    p.checklist = {
        "failing_partition": f"{target} {day}" + (f" layer {layer}" if layer else ""),
        "evidence_read": p.evidence or "none (no run yet)",
        "source_output_boundary": boundary,
        "action": p.action + (f" ({p.reason_code})" if p.reason_code else "") + (f": {p.command}" if p.command else ""),
        "checks_result": _checks_text(checks, day, since),
        "downstream_decision": decision,
    }
    p.decision_reason = decision_why
    return p
