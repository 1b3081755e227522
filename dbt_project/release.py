"""`dq release`: snapshot what consumers read, list the snapshots, diff them, roll back to one.

A **release** is a recorded state of the warehouse's consumer contract, taken before (or right after) a deploy:

* the registry row `meta.releases` — release_id, tag, version_tag (git sha of the code), who/when/where, the
  as-of date of the published data, status (creating → complete | failed; pruned when its copy was dropped);
* a copy of every relation of `cdm_publish` into its own schema `release_<id>` (one `create table … as
  select *` each, in one transaction on DuckDB and PostgreSQL), with each copy's row count and content hash
  (`meta.release_objects`) and its columns and types (`meta.release_columns`);
* the project's dbt manifest reduced to checksums (`meta.release_models`): every model, seed and snapshot
  (the file's sha256 and, for a model with an enforced contract, the contract's checksum) and every macro
  of the project (sha256 of its SQL), so a diff can say which models changed.

Why a schema per release: the copies keep the publish tables' own names and types, so a rollback is one
set-based copy per table with no column mapping, pruning is one `drop schema … cascade`, and the same SQL
works on DuckDB, PostgreSQL and Snowflake (tables in `meta` would need the release id as a column in every
publish table, i.e. a changed shape, and an index on it). The metadata rows stay after a copy is pruned, so
`diff` still works against a pruned release; only `rollback` needs the copy. `--keep N` (default 3) bounds
the copies: the oldest complete ones beyond N are pruned after each snapshot.

`rollback` restores every relation of the release into cdm_publish in ONE transaction (DuckDB, PostgreSQL;
Snowflake commits each DDL statement): a table whose columns and types still equal the release's is refilled
(`delete` + `insert … select`: grants, constraints and dependent views stay); a missing relation, a view, or
one whose shape drifted is dropped and recreated from the copy (`create table … as select`: columns and
types as released, no NOT NULL constraints until the next `dbt build --select cdm_publish`). Each restored
table's row count and content hash must equal the release's before the transaction commits. Relations
published after the release are left as they are (named in the output). Then the smoke test runs. A
rollback is a registry row in meta.etl_runs (job rollback, layer publish, release_id, run_reason
OPERATOR_REQUEST) with its evidence file, like every dq run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import registry
from .load_window import built_as_of
from .project import ConfigError, default_target, profile, root
from .reason_codes import ReasonCode
from .warehouse import Warehouse

PUBLISH = "cdm_publish"
SCHEMA_PREFIX = "release_"
DEFAULT_KEEP = 3
_LOCK_KEY = (25714, 1)  # PostgreSQL advisory lock of release snapshot / rollback (25713 is the date lock)

DDL = (
    """create table if not exists meta.releases (
    release_id varchar(64) not null primary key,
    tag varchar(128),
    version_tag varchar(64) not null,
    target varchar(32) not null,
    created_at timestamp not null,
    created_by varchar(255) not null,
    host varchar(255) not null,
    as_of_date date,
    status varchar(16) not null,
    snapshot_schema varchar(128) not null,
    relations integer,
    total_rows bigint,
    manifest_sha256 varchar(64),
    seconds double precision,
    err_msg text
)""",
    """create table if not exists meta.release_objects (
    release_id varchar(64) not null,
    relation varchar(255) not null,
    kind varchar(16) not null,
    row_count bigint not null,
    content_hash varchar(64) not null,
    primary key (release_id, relation)
)""",
    """create table if not exists meta.release_columns (
    release_id varchar(64) not null,
    relation varchar(255) not null,
    column_name varchar(255) not null,
    data_type varchar(128) not null,
    ordinal_position integer not null,
    primary key (release_id, relation, column_name)
)""",
    """create table if not exists meta.release_models (
    release_id varchar(64) not null,
    unique_id varchar(512) not null,
    resource_type varchar(16) not null,
    name varchar(255) not null,
    relation varchar(255),
    checksum varchar(64) not null,
    contract_checksum varchar(64),
    primary key (release_id, unique_id)
)""",
)


class ReleaseError(RuntimeError):
    """A release operation failed on data or SQL (exit 1); `reason` is its reason code."""

    def __init__(self, reason: ReasonCode, message: str):
        super().__init__(message)
        self.reason = reason


class ReleaseBusy(RuntimeError):
    """Another release operation or a run holds the warehouse (exit 2, LOCK_TIMEOUT)."""

    reason = ReasonCode.LOCK_TIMEOUT


def ensure_tables(wh: Warehouse) -> None:
    wh.execute("create schema if not exists meta")
    for ddl in DDL:
        wh.execute(ddl)


def _now() -> dt.datetime:
    return registry.now()


def _iso(v):
    return v.isoformat() if isinstance(v, dt.date | dt.datetime) else v


# --- what is live -----------------------------------------------------------------------------------

def _type(data_type: str, char_len, precision, scale) -> str:
    """information_schema's type with its length / precision (PostgreSQL keeps them in other columns)."""
    t = str(data_type).lower()
    if "(" in t:
        return t
    if char_len and "char" in t:
        return f"{t}({char_len})"
    if t in ("numeric", "decimal", "number") and precision is not None:
        return f"{t}({precision},{scale or 0})"
    return t


def relations(wh: Warehouse, schema: str = PUBLISH) -> dict[str, str]:
    """{name: 'table' | 'view'} of the relations in a schema."""
    rows = wh.query("select table_name, table_type from information_schema.tables where lower(table_schema) = "
                    f"lower({wh.param}) order by table_name", [schema])
    return {str(n).lower(): ("view" if "VIEW" in str(k).upper() else "table") for n, k in rows}


def columns(wh: Warehouse, schema: str, name: str) -> list[tuple[str, str]]:
    """[(column, type)] of a relation in column order."""
    p = wh.param
    rows = wh.query("select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale "
                    f"from information_schema.columns where lower(table_schema) = lower({p}) "
                    f"and lower(table_name) = lower({p}) order by ordinal_position", [schema, name])
    return [(str(c).lower(), _type(t, n, pr, sc)) for c, t, n, pr, sc in rows]


def content_hash(wh: Warehouse, relation: str) -> tuple[int, str]:
    """(row count, content hash) of a relation: md5 over the sorted md5 of every row's text (Snowflake: the sum
    of every row's HASH). Comparable within one engine (each renders rows its own way), independent of row order."""
    if wh.engine == "snowflake":
        # the sum of every row's HASH over its columns: order-independent like HASH_AGG(*) and computed in
        # the warehouse (no 16 MB LISTAGG limit). Not HASH_AGG itself: the Snowflake emulator the tests run
        # on (fakesnow 0.12) has no HASH_AGG and no HASH(*); HASH(col, ...) is standard Snowflake SQL.
        schema, name = relation.split(".")
        cols = ", ".join(c for c, _ in columns(wh, schema, name))
        n, h = wh.query(f"select count(*), to_varchar(coalesce(sum(hash({cols})), 0)) from {relation}")[0]
        return int(n), str(h)
    row = "cast(t as varchar)" if wh.engine == "duckdb" else "cast(t as text)"
    n, h = wh.query(f"select count(*), md5(coalesce(string_agg(h, '' order by h), '')) from "
                    f"(select md5({row}) as h from {relation} as t) as s")[0]
    return int(n), str(h)


def manifest_checksums(target: str | None) -> tuple[list[dict], str | None, str | None]:
    """dbt parse the project (root(), i.e. $DQ_PROJECT_DIR) and reduce its manifest to checksums:
    ([{unique_id, resource_type, name, relation, checksum, contract_checksum}], manifest sha256, error)."""
    from . import dbt

    outcome = dbt.run(dbt.build_argv("parse", target=target, extra=["--quiet"]))
    if not outcome.success:
        return [], None, f"dbt parse failed: {outcome.error}"
    env = os.environ.get("DBT_TARGET_PATH")
    path = (Path(env) if env and Path(env).is_absolute() else root() / (env or "target")) / "manifest.json"
    raw = path.read_bytes()
    manifest = json.loads(raw)
    out = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        contract = (node.get("contract") or {}).get("checksum") if (node.get("contract") or {}).get("enforced") \
            else None
        out.append({"unique_id": uid, "resource_type": node["resource_type"], "name": node["name"],
                    "relation": f"{node['schema']}.{node.get('alias') or node['name']}",
                    "checksum": node["checksum"]["checksum"], "contract_checksum": contract})
    project = manifest["metadata"].get("project_name") or "cdm"
    for uid, macro in manifest["macros"].items():
        if macro["package_name"] == project:
            out.append({"unique_id": uid, "resource_type": "macro", "name": macro["name"], "relation": None,
                        "checksum": hashlib.sha256(macro["macro_sql"].encode()).hexdigest(),
                        "contract_checksum": None})
    return sorted(out, key=lambda m: m["unique_id"]), hashlib.sha256(raw).hexdigest(), None


# --- the registry -----------------------------------------------------------------------------------

RELEASE_COLUMNS = ("release_id", "tag", "version_tag", "target", "created_at", "created_by", "host", "as_of_date",
                   "status", "snapshot_schema", "relations", "total_rows", "manifest_sha256", "seconds", "err_msg")


def list_releases(wh: Warehouse, last: int | None = None) -> list[dict]:
    """meta.releases, newest first (an empty list before the first snapshot)."""
    if not wh.table_exists("meta", "releases"):
        return []
    sql = f"select {', '.join(RELEASE_COLUMNS)} from meta.releases order by created_at desc, release_id desc"
    if last:
        sql += f" limit {int(last)}"
    cols, rows = wh.query_with_columns(sql)
    return [dict(zip(cols, r, strict=True)) for r in rows]


def latest_release(wh: Warehouse) -> str | None:
    """The newest release a rollback can restore (status complete), or None."""
    return next((r["release_id"] for r in list_releases(wh) if r["status"] == "complete"), None)


def resolve(wh: Warehouse, ref: str) -> dict:
    """A release by id, by tag (the newest with that tag) or `latest`; ConfigError (exit 2) when unknown."""
    releases = list_releases(wh)
    if ref == "latest":
        found = next((r for r in releases if r["status"] == "complete"), None)
    else:
        found = next((r for r in releases if r["release_id"] == ref), None) or \
            next((r for r in releases if r["tag"] == ref), None)
    if not found:
        known = ", ".join(f"{r['release_id']}" + (f" ({r['tag']})" if r["tag"] else "") for r in releases[:5])
        raise ConfigError(f"no release {ref!r} on this target" + (f"; latest: {known}" if known else
                                                                  "; none yet: `dq release snapshot`"))
    return found


def _release_rows(wh: Warehouse, table: str, release_id: str, order: str) -> list[dict]:
    cols, rows = wh.query_with_columns(f"select * from meta.{table} where release_id = {wh.param} order by {order}",
                                       [release_id])
    return [dict(zip(cols, r, strict=True)) for r in rows]


# --- snapshot ---------------------------------------------------------------------------------------

@dataclass
class Snapshot:
    release_id: str
    tag: str | None
    version_tag: str
    target: str
    snapshot_schema: str
    as_of_date: dt.date | None = None
    relations: list[dict] = field(default_factory=list)  # relation, kind, rows, content_hash, columns
    models: int = 0
    manifest_sha256: str | None = None
    manifest_error: str | None = None
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(r["rows"] for r in self.relations)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["as_of_date"] = _iso(self.as_of_date)
        d["total_rows"] = self.total_rows
        return d


def _new_release_id(wh: Warehouse) -> str:
    base = f"r{dt.datetime.now():%Y%m%d%H%M%S}"
    taken = {r["release_id"] for r in list_releases(wh)}
    rid, n = base, 1
    while rid in taken:
        n += 1
        rid = f"{base}_{n}"
    return rid


def _advisory_lock(wh: Warehouse) -> None:
    """PostgreSQL: one release operation at a time (a transaction-scoped advisory lock); call inside the
    transaction. DuckDB needs none: one process has the file open for writing."""
    if wh.engine == "postgres" and not wh.scalar("select pg_try_advisory_xact_lock(%s, %s)", list(_LOCK_KEY)):
        raise ReleaseBusy("another `dq release snapshot/rollback` is running on this target; try again when it ends")


def snapshot(target: str | None, tag: str | None = None, keep: int = DEFAULT_KEEP, progress=None) -> Snapshot:
    """Record a release: the manifest's checksums, then a copy of every cdm_publish relation (see module doc)."""
    say = progress or (lambda _m: None)
    target = target or default_target()
    if keep < 1:
        raise ConfigError("--keep must be at least 1 (the snapshot just taken)")
    t0 = time.perf_counter()
    with Warehouse(target) as wh:  # closed again while dbt parses (DuckDB: one writer)
        if not relations(wh):
            raise ConfigError(f"nothing is published on {target} ({PUBLISH} has no table or view): build it first "
                              "(`dq build` / `dbt build --select cdm_publish`)")
    say("dbt parse: the project's model checksums")
    models, manifest_sha, manifest_error = manifest_checksums(target)
    with Warehouse(target) as wh:
        live = relations(wh)
        ensure_tables(wh)
        rid = _new_release_id(wh)
        snap = Snapshot(rid, tag, registry.version_tag(), target, SCHEMA_PREFIX + rid.lower(), models=len(models),
                        manifest_sha256=manifest_sha, manifest_error=manifest_error)
        p = wh.param
        marks = ", ".join([p] * len(RELEASE_COLUMNS))
        who = f"{os.environ.get('USER', 'unknown')}@{registry.host()}"
        # committed first: a snapshot that dies half-way stays visible as `creating`
        wh.execute(f"insert into meta.releases ({', '.join(RELEASE_COLUMNS)}) values ({marks})",
                   [rid, tag, snap.version_tag, target, _now(), who, registry.host(), None, "creating",
                    snap.snapshot_schema, None, None, manifest_sha, None, manifest_error])
        try:
            with wh.transaction():
                _advisory_lock(wh)
                wh.execute(f"create schema {snap.snapshot_schema}")
                for name, kind in live.items():
                    say(f"copy {PUBLISH}.{name}")
                    copy = f"{snap.snapshot_schema}.{name}"
                    wh.execute(f"create table {copy} as select * from {PUBLISH}.{name}")
                    n, h = content_hash(wh, copy)
                    cols = columns(wh, snap.snapshot_schema, name)
                    snap.relations.append({"relation": f"{PUBLISH}.{name}", "kind": kind, "rows": n,
                                           "content_hash": h, "columns": [list(c) for c in cols]})
                    wh.execute(f"insert into meta.release_objects values ({p}, {p}, {p}, {p}, {p})",
                               [rid, f"{PUBLISH}.{name}", kind, n, h])
                    wh.executemany(f"insert into meta.release_columns values ({p}, {p}, {p}, {p}, {p})",
                                   [[rid, f"{PUBLISH}.{name}", c, t, i] for i, (c, t) in enumerate(cols, 1)])
                    if any(c == "as_of_date" for c, _ in cols):
                        as_of = wh.scalar(f"select max(as_of_date) from {copy}")
                        if as_of is not None:
                            as_of = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])
                            snap.as_of_date = max(snap.as_of_date or as_of, as_of)
                wh.executemany(f"insert into meta.release_models values ({p}, {p}, {p}, {p}, {p}, {p}, {p})",
                               [[rid, m["unique_id"], m["resource_type"], m["name"], m["relation"], m["checksum"],
                                 m["contract_checksum"]] for m in models])
                snap.seconds = round(time.perf_counter() - t0, 2)
                wh.execute(f"update meta.releases set status = 'complete', as_of_date = {p}, relations = {p}, "
                           f"total_rows = {p}, seconds = {p} where release_id = {p}",
                           [snap.as_of_date, len(snap.relations), snap.total_rows, snap.seconds, rid])
        except BaseException as exc:
            wh.execute(f"drop schema if exists {snap.snapshot_schema} cascade")
            wh.execute(f"update meta.releases set status = 'failed', err_msg = {p} where release_id = {p}",
                       [f"{type(exc).__name__}: {exc}"[:2000], rid])
            raise
        snap.pruned = prune(wh, keep)
    return snap


def prune(wh: Warehouse, keep: int) -> list[str]:
    """Drop the copies of the complete releases beyond the newest `keep` (their metadata stays: diff works)."""
    done = [r for r in list_releases(wh) if r["status"] == "complete"]
    pruned = []
    for r in done[keep:]:
        wh.execute(f"drop schema if exists {r['snapshot_schema']} cascade")
        wh.execute(f"update meta.releases set status = 'pruned' where release_id = {wh.param}", [r["release_id"]])
        pruned.append(r["release_id"])
    return pruned


# --- list -------------------------------------------------------------------------------------------

def list_all(target: str | None) -> list[dict]:
    """Every release, newest first, with its relations' row counts and the rollbacks to it."""
    with Warehouse(target) as wh:
        releases = list_releases(wh)
        if not releases:
            return []
        objects = wh.query("select release_id, relation, row_count from meta.release_objects order by relation")
        rollbacks = {}
        if wh.table_exists("meta", "etl_runs"):
            rollbacks = dict(wh.query("select release_id, count(*) from meta.etl_runs where job = 'rollback' "
                                      "group by release_id"))
    for r in releases:
        r["rows"] = {rel: int(n) for rid, rel, n in objects if rid == r["release_id"]}
        r["rollbacks"] = int(rollbacks.get(r["release_id"], 0))
        for k, v in r.items():
            r[k] = _iso(v)
    return releases


# --- diff -------------------------------------------------------------------------------------------

@dataclass
class _Side:
    label: str
    models: dict[str, dict]
    columns: dict[str, list[tuple[str, str]]]
    objects: dict[str, tuple[int, str]]  # relation -> (rows, content hash)
    models_recorded: bool = True


def release_side(wh: Warehouse, rel: dict) -> _Side:
    rid = rel["release_id"]
    models = {m["unique_id"]: m for m in _release_rows(wh, "release_models", rid, "unique_id")}
    cols: dict[str, list[tuple[str, str]]] = {}
    for c in _release_rows(wh, "release_columns", rid, "relation, ordinal_position"):
        cols.setdefault(c["relation"], []).append((c["column_name"], c["data_type"]))
    objects = {o["relation"]: (int(o["row_count"]), o["content_hash"])
               for o in _release_rows(wh, "release_objects", rid, "relation")}
    label = rid + (f" ({rel['tag']})" if rel["tag"] else "")
    return _Side(label, models, cols, objects, models_recorded=rel["manifest_sha256"] is not None)


def _current_side(wh: Warehouse, models: list[dict], manifest_ok: bool) -> _Side:
    cols, objects = {}, {}
    for name in relations(wh):
        rel = f"{PUBLISH}.{name}"
        cols[rel] = columns(wh, PUBLISH, name)
        objects[rel] = content_hash(wh, rel)
    return _Side("current", {m["unique_id"]: m for m in models}, cols, objects, models_recorded=manifest_ok)


def diff(target: str | None, a: str, b: str = "current", progress=None) -> dict:
    """What changed from release A to release B (or the live warehouse and the checked-out project)."""
    say = progress or (lambda _m: None)
    target = target or default_target()
    with Warehouse(target) as wh:  # unknown names fail before the parse
        resolve(wh, a)
        if b != "current":
            resolve(wh, b)
    models, manifest_error = [], None
    if b == "current":
        say("dbt parse: the checked-out project's model checksums")
        models, _, manifest_error = manifest_checksums(target)
    with Warehouse(target) as wh:
        ra = resolve(wh, a)
        old = release_side(wh, ra)
        new = _current_side(wh, models, manifest_error is None) if b == "current" else release_side(wh, resolve(wh, b))
    out = {"target": target, "from": old.label, "to": new.label, "models": _model_diff(old, new),
           "relations": _relation_diff(old, new)}
    if manifest_error:
        out["models"]["note"] = manifest_error
    out["changed"] = bool(any(out["models"][k] for k in ("added", "removed", "changed"))
                          or any(r["status"] != "same" for r in out["relations"]))
    return out


def _model_diff(old: _Side, new: _Side) -> dict:
    if not (old.models_recorded and new.models_recorded):
        missing = old.label if not old.models_recorded else new.label
        return {"added": [], "removed": [], "changed": [], "note": f"no model checksums recorded for {missing}"}
    changed = []
    for uid in sorted(set(old.models) & set(new.models)):
        o, n = old.models[uid], new.models[uid]
        what = [w for w, k in (("sql", "checksum"), ("contract", "contract_checksum")) if o[k] != n[k]]
        if what:
            changed.append({"unique_id": uid, "resource_type": n["resource_type"], "changed": what})
    return {"added": sorted(set(new.models) - set(old.models)), "removed": sorted(set(old.models) - set(new.models)),
            "changed": changed}


def _relation_diff(old: _Side, new: _Side) -> list[dict]:
    out = []
    for rel in sorted(set(old.objects) | set(new.objects)):
        oc, nc = dict(old.columns.get(rel, [])), dict(new.columns.get(rel, []))
        o, n = old.objects.get(rel), new.objects.get(rel)
        d = {"relation": rel, "rows_from": o[0] if o else None, "rows_to": n[0] if n else None,
             "columns_added": [c for c in nc if c not in oc], "columns_removed": [c for c in oc if c not in nc],
             "columns_retyped": [{"column": c, "from": oc[c], "to": nc[c]} for c in oc if c in nc and oc[c] != nc[c]]}
        if not o or not n:  # a whole relation added or removed: its columns are not listed one by one
            d |= {"status": "added" if n else "removed", "columns_added": [], "columns_removed": []}
        elif d["columns_added"] or d["columns_removed"] or d["columns_retyped"]:
            d["status"] = "contract drift"
        else:
            d["status"] = "same" if o == n else "data changed"
        out.append(d)
    return out


# --- rollback ---------------------------------------------------------------------------------------

@dataclass
class RestoreStep:
    relation: str
    action: str  # refill | recreate
    why: str
    rows_release: int
    rows_live: int | None
    seconds: float = 0.0


@dataclass
class Rollback:
    target: str
    release_id: str
    tag: str | None
    as_of_date: dt.date | None
    steps: list[RestoreStep] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)  # live relations the release does not have
    applied: bool = False
    run_id: str | None = None
    status: str | None = None  # success | failed (None: not applied)
    reason_code: str | None = None
    error: str | None = None
    smoke: dict | None = None
    evidence: str | None = None

    @property
    def ok(self) -> bool:
        return self.applied and self.status == "success"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["as_of_date"] = _iso(self.as_of_date)
        d["ok"] = self.ok
        return d


def _resolve_restorable(wh: Warehouse, ref: str) -> dict:
    rel = resolve(wh, ref)
    if rel["status"] != "complete":
        raise ConfigError(f"release {rel['release_id']} is {rel['status']}: its copy "
                          + ("was pruned (--keep)" if rel["status"] == "pruned" else "is not usable")
                          + "; pick a complete one from `dq release list`")
    return rel


def _plan(wh: Warehouse, rel: dict) -> Rollback:
    rid = rel["release_id"]
    as_of = rel["as_of_date"]
    as_of = as_of if isinstance(as_of, dt.date) or as_of is None else dt.date.fromisoformat(str(as_of)[:10])
    rb = Rollback(wh.target or default_target(), rid, rel["tag"], as_of)
    side = release_side(wh, rel)
    live = relations(wh)
    copies = relations(wh, rel["snapshot_schema"])
    for relation, (rows, _) in side.objects.items():
        name = relation.split(".", 1)[1]
        if name not in copies:
            raise ConfigError(f"release {rid}'s copy {rel['snapshot_schema']}.{name} is missing: it cannot be restored")
        if name not in live:
            rb.steps.append(RestoreStep(relation, "recreate", "missing", rows, None))
            continue
        n = wh.scalar(f"select count(*) from {relation}")
        if live[name] == "view":
            why = "a view now: replaced by the released table"
        elif columns(wh, PUBLISH, name) != side.columns[relation]:
            why = "columns or types differ from the release (contract drift)"
        else:
            rb.steps.append(RestoreStep(relation, "refill", "same shape: delete + insert", rows, int(n)))
            continue
        rb.steps.append(RestoreStep(relation, "recreate", why, rows, int(n)))
    rb.untouched = sorted(f"{PUBLISH}.{n}" for n in live if f"{PUBLISH}.{n}" not in side.objects)
    return rb


def plan_rollback(target: str | None, ref: str) -> Rollback:
    """What a rollback to a release would do (reads only)."""
    with Warehouse(target or default_target()) as wh:
        return _plan(wh, _resolve_restorable(wh, ref))


def _run_in_progress(wh: Warehouse, target: str) -> str | None:
    """A dq run / rerun / backfill working on this target right now (its date lock held), if any."""
    if not wh.table_exists("meta", "etl_runs"):
        return None
    p = wh.param
    rows = wh.query(f"select run_id, layer, from_date, to_date from meta.etl_runs where status = 'running' "
                    f"and target = {p} and job <> 'rollback'", [target])
    engine = profile(target)["type"]
    for run_id, layer, d1, d2 in rows:
        day = d1 if isinstance(d1, dt.date) else dt.date.fromisoformat(str(d1)[:10])
        if not registry.DateLock(target, engine, day).is_free():
            return f"run {run_id} is in layer {layer} for {d1}" + (f"..{d2}" if d2 != d1 else "")
    return None


def rollback(target: str | None, ref: str, progress=None) -> Rollback:
    """Restore cdm_publish from a release (see the module doc), record it, run the smoke test."""
    from .ops import new_run_id
    from .smoke import smoke

    say = progress or (lambda _m: None)
    target = target or default_target()
    with Warehouse(target) as wh:
        rel = _resolve_restorable(wh, ref)
        busy = _run_in_progress(wh, target)
        if busy:
            raise ReleaseBusy(f"{busy}: a rollback now would race it; wait for it (`dq runs`), then roll back")
        rb = _plan(wh, rel)
        built = built_as_of(wh)
    run_id = new_run_id("rollback")
    day = rb.as_of_date or dt.date.today()
    # recorded for every as-of date it rewinds what consumers read: from the release's to the build's, so `dq runs`
    # and `dq plan` of the date being worked on (the latest) see it
    last = max(day, built) if built else day
    step = registry.Step("rollback", run_id, os.environ.get("DQ_TRACE_ID") or run_id, target, "publish", day, last,
                         run_reason=ReasonCode.OPERATOR_REQUEST.value, release_id=rb.release_id)
    rb.run_id, rb.applied = run_id, True
    with Warehouse(target) as wh:
        wh.execute("create schema if not exists meta")
        wh.execute(registry.RUNS_DDL)  # not registry.ensure_tables: an empty date control would fail the smoke
        registry.insert_step(wh, step)
        try:
            with wh.transaction():
                _advisory_lock(wh)
                _restore(wh, rb, rel, say)
        except ReleaseBusy:
            raise
        except Exception as exc:
            rb.status = "failed"
            rb.reason_code = exc.reason.value if isinstance(exc, ReleaseError) else ReasonCode.TRANSFORM_ERROR.value
            rb.error = f"{type(exc).__name__}: {exc}"[:2000]
    restored_rows = sum(s.rows_release for s in rb.steps)
    if rb.status != "failed":
        say("smoke test of the restored release")
        rep = smoke(target, progress)
        rb.smoke = rep.as_dict()
        if rep.ok:
            rb.status = "success"
        else:
            rb.status, rb.reason_code = "failed", rep.reason_code
            rb.error = (f"restored {len(rb.steps)} relation(s) from {rb.release_id}; smoke failed: "
                        f"{', '.join(c.name for c in rep.failed) or rep.connection_error}")
    step.status, step.reason_code, step.err_msg = rb.status, rb.reason_code, rb.error
    step.rows_read = step.rows_written = restored_rows if rb.status == "success" or rb.smoke else None
    step.finished_at = step.heartbeat_at = registry.now()
    step.seconds = (step.finished_at - step.started_at).total_seconds()
    rb.evidence = str(_write_evidence(rb, step))
    step.evidence_path = rb.evidence
    with Warehouse(target) as wh:
        registry.update_step(wh, step)
    if rb.status == "failed":
        from . import alerts

        alerts.run_failed(target, run_id, last, rb.reason_code, f"rollback to {rb.release_id}: {rb.error}"[:600],
                          {"evidence": rb.evidence, "job": "rollback", "release_id": rb.release_id}, layer="publish")
    return rb


def _restore(wh: Warehouse, rb: Rollback, rel: dict, say) -> None:
    """Inside one transaction: every relation of the release back into cdm_publish, verified."""
    expected = {o["relation"]: (int(o["row_count"]), o["content_hash"])
                for o in _release_rows(wh, "release_objects", rel["release_id"], "relation")}
    live = relations(wh)
    for s in rb.steps:
        t0 = time.perf_counter()
        name = s.relation.split(".", 1)[1]
        copy = f"{rel['snapshot_schema']}.{name}"
        say(f"{s.action} {s.relation} from {copy} ({s.rows_release:,} rows)")
        if s.action == "refill":
            wh.execute(f"delete from {s.relation}")
            wh.execute(f"insert into {s.relation} select * from {copy}")
        else:
            if name in live:
                wh.execute(f"drop {live[name]} {s.relation}")
            wh.execute(f"create table {s.relation} as select * from {copy}")
            for role in publish_readers(wh.engine):  # a new table: the readers' grant, as a build gives it
                wh.execute(f"grant select on {s.relation} to {'role ' if wh.engine == 'snowflake' else ''}{role}")
        got = content_hash(wh, s.relation)
        if got != expected[s.relation]:
            raise ReleaseError(ReasonCode.ROW_COUNT_MISMATCH,
                               f"{s.relation} after the restore has {got[0]} rows / hash {got[1]}, the release "
                               f"{expected[s.relation][0]} / {expected[s.relation][1]}: nothing was committed")
        s.seconds = round(time.perf_counter() - t0, 2)


def publish_readers(engine: str) -> list[str]:
    """The roles granted select on the published tables (DQ_PUBLISH_READERS), as macros/publish_grants.sql reads
    them for dbt's builds: a rollback that recreates a table grants them the same way."""
    if engine == "duckdb":
        return []
    return [r.strip() for r in os.environ.get("DQ_PUBLISH_READERS", "").split(",") if r.strip()]


def _write_evidence(rb: Rollback, step: registry.Step) -> Path:
    """reports/run_evidence/<run_id>.json (job rollback) in the run-evidence contract."""
    from .evidence import _base, _write

    smoke = rb.smoke or {}
    doc = _base(rb.run_id, step.trace_id, "rollback", rb.target, step.from_date, step.to_date) | {
        "release_id": rb.release_id,
        "status": rb.status, "reason_code": rb.reason_code, "run_reason": step.run_reason,
        "started_at": step.started_at.isoformat(), "finished_at": step.finished_at.isoformat(),
        "registry": [step.as_dict()],
        "models": [{"unique_id": s.relation, "name": s.relation.split(".", 1)[1], "resource_type": "restore",
                    "status": "success" if rb.status == "success" or rb.smoke else "error", "layer": "publish",
                    "rows": s.rows_release, "seconds": s.seconds, "message": f"{s.action}: {s.why}"}
                   for s in rb.steps],
        "sources": [], "manifests": [], "retries": [], "abandoned": [],
        "dq_summary": {"ok": bool(smoke.get("ok")), "layers": {"smoke": {
            "run_id": smoke.get("run_id"), "checks": {c["name"]: c["status"] for c in smoke.get("checks", [])}}},
            "failed_checks": smoke.get("failed_checks", []), "smoke_evidence": smoke.get("evidence"),
            "untouched": rb.untouched} if rb.smoke else None,
        "downstream_decision": "unblock" if rb.status == "success" else "hold",
        "decision_reason": (f"cdm_publish restored from release {rb.release_id} and the smoke test passed"
                            if rb.status == "success" else f"{rb.reason_code}: {rb.error}"),
        "resume_command": None,
    }
    return _write(doc)
