"""`dq release snapshot / list / diff / rollback` on a built warehouse (DuckDB and PostgreSQL): a snapshot
restores a broken publish layer to exactly its rows, the smoke test goes from failing to passing, a diff
names a changed model and a dropped contract column, a rollback without --yes changes nothing, snapshots are
bounded by --keep, and `dq plan` prints the rollback command for a restore-class failure."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from dbt_project import dbt, registry, smoke
from dbt_project.cli import main
from dbt_project.evidence import schema_path
from dbt_project.project import root
from dbt_project.warehouse import Warehouse

D = dt.date(2026, 1, 3)  # the last date of the built warehouse


@pytest.fixture(autouse=True)
def evidence_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DQ_EVIDENCE_DIR", str(tmp_path / "evidence"))
    return tmp_path / "evidence"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _json(res) -> dict | list:
    assert res.output.strip(), res.output
    return json.loads(res.output)


def _t(target: str) -> str:
    return "" if target == "dev" else f" --target {target}"


def publish_rows(target: str) -> dict[str, tuple[list, list]]:
    """Every cdm_publish relation: its columns and its rows, sorted (the consumer-visible state)."""
    with Warehouse(target) as wh:
        names = [r[0] for r in wh.query("select table_name from information_schema.tables "
                                        "where table_schema = 'cdm_publish' order by 1")]
        out = {}
        for name in names:
            cols, rows = wh.query_with_columns(f"select * from cdm_publish.{name}")
            out[name] = (cols, sorted(rows, key=repr))
    return out


def _kind(wh, name: str) -> str:
    t = wh.scalar("select table_type from information_schema.tables where table_schema = 'cdm_publish' "
                  f"and table_name = {wh.param}", [name])
    return "view" if "VIEW" in t.upper() else "table"


def drop_column(wh, name: str, column: str) -> None:
    """A publish relation loses a contract column (a bad deploy)."""
    cols = [r[0] for r in wh.query("select column_name from information_schema.columns where table_schema = "
                                   f"'cdm_publish' and table_name = {wh.param} order by ordinal_position", [name])]
    wh.execute(f"create table cdm_publish.{name}_tmp as select {', '.join(c for c in cols if c != column)} "
               f"from cdm_publish.{name}")
    wh.execute(f"drop {_kind(wh, name)} cdm_publish.{name}")
    wh.execute(f"alter table cdm_publish.{name}_tmp rename to {name}")


def break_publish(target: str) -> None:
    """Drop a table, change rows, drop a contract column."""
    with Warehouse(target) as wh:
        wh.execute(f"drop {_kind(wh, 'campaign_360_v1')} cdm_publish.campaign_360_v1")
        wh.execute("delete from cdm_publish.customer_360_v1 where customer_id in "
                   "(select customer_id from cdm_publish.customer_360_v1 order by customer_id limit 25)")
        wh.execute("update cdm_publish.customer_360_v1 set contacts_total = contacts_total + 1000")
        drop_column(wh, "flowchart_360_v1", "revenue")


def snapshot(target: str, *extra: str) -> dict:
    res = invoke("release", "snapshot", "--target", target, "--json", *extra)
    assert res.exit_code == 0, res.output
    return _json(res)


# --- snapshot → break → smoke fails → rollback → smoke passes, rows equal ------------------------------

def test_rollback_restores_the_published_rows_and_smoke_passes(built_target):
    before = publish_rows(built_target)
    snap = snapshot(built_target, "--tag", "v1.0")
    assert snap["tag"] == "v1.0" and snap["version_tag"] == registry.version_tag()
    assert snap["as_of_date"] == D.isoformat() and snap["models"] > 50 and snap["manifest_error"] is None
    assert {r["relation"]: r["rows"] for r in snap["relations"]} == {
        f"cdm_publish.{n}": len(rows) for n, (_, rows) in before.items()}
    with Warehouse(built_target) as wh:  # the copy holds the same rows, in its own schema
        for name, (_, rows) in before.items():
            assert sorted(wh.query(f"select * from {snap['snapshot_schema']}.{name}"), key=repr) == rows

    break_publish(built_target)
    broken = publish_rows(built_target)
    assert broken != before
    rep = smoke.smoke(built_target)
    assert not rep.ok and "publish_contracts" in [c.name for c in rep.failed]

    # without --yes: the plan, exit 2, nothing changed; --dry-run: the plan, exit 0, nothing changed
    res = invoke("release", "rollback", snap["release_id"], "--target", built_target)
    assert res.exit_code == 2 and "--yes" in res.output, res.output
    dry = invoke("release", "rollback", "v1.0", "--dry-run", "--json", "--target", built_target)
    assert dry.exit_code == 0, dry.output
    plan = _json(dry)
    actions = {s["relation"]: (s["action"], s["why"]) for s in plan["steps"]}
    assert actions["cdm_publish.campaign_360_v1"] == ("recreate", "missing")
    assert actions["cdm_publish.flowchart_360_v1"][0] == "recreate" and "drift" in actions[
        "cdm_publish.flowchart_360_v1"][1]
    assert actions["cdm_publish.customer_360_v1"][0] == "refill"
    assert publish_rows(built_target) == broken
    with Warehouse(built_target) as wh:
        assert not wh.table_exists("meta", "etl_runs") or not wh.scalar(
            "select count(*) from meta.etl_runs where job = 'rollback'")

    res = invoke("release", "rollback", "latest", "--yes", "--json", "--target", built_target)
    assert res.exit_code == 0, res.output
    rb = _json(res)
    assert rb["ok"] and rb["status"] == "success" and rb["smoke"]["ok"], rb
    assert publish_rows(built_target) == before  # exactly the released rows, columns and order of columns
    assert smoke.smoke(built_target).ok

    with Warehouse(built_target) as wh:  # the content hash recorded at the snapshot, recomputed on the live tables
        from dbt_project.release import content_hash

        recorded = dict(((o, (int(n), h)) for o, n, h in wh.query(
            "select relation, row_count, content_hash from meta.release_objects where release_id = "
            f"{wh.param}", [snap["release_id"]])))
        assert {rel: content_hash(wh, rel) for rel in recorded} == recorded
        rows = registry.list_runs(wh, last=None, run_id=rb["run_id"])
    assert len(rows) == 1
    row = rows[0]
    assert (row["job"], row["layer"], row["status"], row["release_id"], row["run_reason"], row["reason_code"]) == \
        ("rollback", "publish", "success", snap["release_id"], "OPERATOR_REQUEST", None)
    assert row["from_date"] == D and row["evidence_path"] == rb["evidence"]
    ev = json.loads(Path(rb["evidence"]).read_text())
    jsonschema.validate(ev, json.loads(schema_path().read_text()))
    assert (ev["job"], ev["status"], ev["release_id"], ev["downstream_decision"]) == \
        ("rollback", "success", snap["release_id"], "unblock")
    assert {m["unique_id"] for m in ev["models"]} == {f"cdm_publish.{n}" for n in before}

    listed = _json(invoke("release", "list", "--json", "--target", built_target))
    assert listed[0]["release_id"] == snap["release_id"] and listed[0]["rollbacks"] == 1


def test_a_rollback_whose_smoke_fails_exits_1_and_records_the_failure(built_target):
    """A release snapshot taken of a broken state restores that state: smoke fails, exit 1, the registry row
    is failed with SMOKE_FAILED, a RUN_FAILED alert is recorded, and `dq plan` then recommends restore."""
    with Warehouse(built_target) as wh:
        drop_column(wh, "flowchart_360_v1", "revenue")
    snap = snapshot(built_target)
    res = invoke("release", "rollback", snap["release_id"], "--yes", "--json", "--target", built_target)
    assert res.exit_code == 1, res.output
    rb = _json(res)
    assert (rb["status"], rb["reason_code"], rb["ok"]) == ("failed", "SMOKE_FAILED", False)
    assert "publish_contracts" in rb["smoke"]["failed_checks"]
    with Warehouse(built_target) as wh:
        row = registry.list_runs(wh, last=None, run_id=rb["run_id"])[0]
        alerts = wh.query(f"select kind, reason_code from meta.etl_alerts where run_id = {wh.param}", [rb["run_id"]])
    assert (row["status"], row["reason_code"]) == ("failed", "SMOKE_FAILED")
    assert alerts == [("RUN_FAILED", "SMOKE_FAILED")]
    ev = json.loads(Path(rb["evidence"]).read_text())
    jsonschema.validate(ev, json.loads(schema_path().read_text()))
    assert ev["downstream_decision"] == "hold"
    # rolling back to the same release again would change nothing: the plan says what to fix, then smoke
    p = _json(invoke("plan", "--date", D.isoformat(), "--json", "--target", built_target))
    assert (p["action"], p["reason_code"], p["command"]) == ("escalate", "SMOKE_FAILED", f"dq smoke{_t(built_target)}")
    assert "publish_contracts" in p["why"] and any("roll back to an older one" in s for s in p["first"]), p
    outcome = dbt.run(dbt.build_argv("build", select=["cdm_publish"], target=built_target, extra=["--quiet"]))
    assert outcome.success  # the publish layer rebuilt: its contract column is back
    assert invoke("smoke", "--target", built_target).exit_code == 0
    p = _json(invoke("plan", "--date", D.isoformat(), "--json", "--target", built_target))
    assert (p["action"], p["checklist"]["downstream_decision"]) == ("none", "unblock"), p  # settled by the smoke


# --- diff ---------------------------------------------------------------------------------------------

@pytest.fixture
def changed_project(tmp_path, monkeypatch):
    """A copy of the project with one publish model edited (a deploy of new code); dq reads it through
    DQ_PROJECT_DIR for the duration of the test."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(root() / name, copy / name)
    for name in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(root() / name, copy / name)
    model = copy / "models" / "cdm_publish" / "pub_flowchart_360_v1.sql"
    model.write_text(model.read_text() + "\n-- release 1.1: a comment is enough to change the checksum\n")

    def use_it():
        monkeypatch.setenv("DQ_PROJECT_DIR", str(copy))
        monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "project_target"))
        root.cache_clear()

    yield use_it
    monkeypatch.delenv("DQ_PROJECT_DIR", raising=False)
    root.cache_clear()


def test_diff_names_a_changed_model_and_a_dropped_column(built_target, changed_project):
    a = snapshot(built_target, "--tag", "v1.0")
    res = invoke("release", "diff", "v1.0", "--json", "--target", built_target)
    assert res.exit_code == 0, res.output
    same = _json(res)
    assert all(r["status"] == "same" for r in same["relations"]), same["relations"]
    assert not any(c["unique_id"].startswith("model.cdm.pub_") for c in same["models"]["changed"])

    changed_project()  # new code deployed ...
    with Warehouse(built_target) as wh:  # ... and the publish layer it left behind
        drop_column(wh, "flowchart_360_v1", "revenue")
        wh.execute("delete from cdm_publish.customer_360_v1 where customer_id in "
                   "(select customer_id from cdm_publish.customer_360_v1 order by customer_id limit 10)")
    d = _json(invoke("release", "diff", a["release_id"], "current", "--json", "--target", built_target))
    changed = {c["unique_id"]: c["changed"] for c in d["models"]["changed"]}
    assert changed.get("model.cdm.pub_flowchart_360.v1") == ["sql"], d["models"]
    assert "model.cdm.pub_customer_360.v1" not in changed and not d["models"]["removed"]
    rel = {r["relation"]: r for r in d["relations"]}
    fc = rel["cdm_publish.flowchart_360_v1"]
    assert (fc["status"], fc["columns_removed"], fc["columns_added"]) == ("contract drift", ["revenue"], [])
    cust = rel["cdm_publish.customer_360_v1"]
    assert (cust["status"], cust["rows_from"] - cust["rows_to"]) == ("data changed", 10)
    assert rel["cdm_publish.campaign_360_v1"]["status"] == "same" and d["changed"] is True

    b = snapshot(built_target, "--tag", "v1.1")  # release to release: the same story
    d2 = _json(invoke("release", "diff", "v1.0", b["release_id"], "--json", "--target", built_target))
    assert {c["unique_id"] for c in d2["models"]["changed"]} == set(changed)
    assert {r["relation"]: r["status"] for r in d2["relations"]} == {k: r["status"] for k, r in rel.items()}
    text = invoke("release", "diff", "v1.0", "v1.1", "--target", built_target)
    assert text.exit_code == 0 and "pub_flowchart_360" in text.output and "-revenue" in text.output


# --- list, --keep, plan --------------------------------------------------------------------------------

def test_list_is_newest_first_and_keep_bounds_the_copies(built_target):
    ids = [snapshot(built_target, "--tag", f"v{i}", "--keep", "2")["release_id"] for i in range(3)]
    listed = _json(invoke("release", "list", "--json", "--target", built_target))
    assert [r["release_id"] for r in listed] == ids[::-1]
    assert [r["status"] for r in listed] == ["complete", "complete", "pruned"]
    live = {f"cdm_publish.{n}": len(rows) for n, (_, rows) in publish_rows(built_target).items()}
    assert all(r["rows"] == live and r["total_rows"] == sum(live.values()) for r in listed)
    with Warehouse(built_target) as wh:
        schemas = {r[0] for r in wh.query("select schema_name from information_schema.schemata")}
    assert {r["snapshot_schema"] for r in listed[:2]} <= schemas and listed[2]["snapshot_schema"] not in schemas
    res = invoke("release", "rollback", ids[0], "--yes", "--target", built_target)
    assert res.exit_code == 2 and "pruned" in res.output  # its copy is gone: refused
    d = _json(invoke("release", "diff", ids[0], "--json", "--target", built_target))  # metadata kept: diff works
    assert all(r["status"] == "same" for r in d["relations"])
    text = invoke("release", "list", "--target", built_target)
    assert text.exit_code == 0 and all(i in text.output for i in ids)


def test_plan_prints_the_rollback_command_after_a_failing_smoke(built_target):
    """A deploy's smoke fails (a published contract column is gone): smoke writes nothing into the warehouse,
    `dq plan` reads its evidence file and recommends restore, with the rollback command once a release exists."""
    with Warehouse(built_target) as wh:
        drop_column(wh, "flowchart_360_v1", "revenue")
    res = invoke("smoke", "--target", built_target)
    assert res.exit_code == 1 and "SMOKE_FAILED" in res.output, res.output
    p = _json(invoke("plan", "--date", D.isoformat(), "--json", "--target", built_target))
    assert (p["action"], p["reason_code"], p["command"]) == ("restore", "SMOKE_FAILED", None), p  # no release yet
    assert any("dq release snapshot" in s for s in p["then"]) and p["checklist"]["downstream_decision"] == "hold"

    old = snapshot(built_target)["release_id"]
    new = snapshot(built_target)["release_id"]
    assert new != old
    res = invoke("plan", "--date", D.isoformat(), "--target", built_target)
    assert res.exit_code == 1
    assert f"dq release rollback {new} --yes{_t(built_target)}" in res.output
    p = _json(invoke("plan", "--date", D.isoformat(), "--json", "--target", built_target))
    assert p["command"] == f"dq release rollback {new} --yes{_t(built_target)}"
    assert p["checklist"]["action"] == f"restore (SMOKE_FAILED): {p['command']}"


def test_plan_fixes_the_calendar_not_the_data_when_smoke_fails_on_date_control(built_target):
    """A wrong business date fails date_control and publish_validation (no rows as of it): rolling back the
    published data would only rewind it. The plan says fix the calendar, then smoke again."""
    snapshot(built_target)
    assert invoke("dates", "set", "2026-01-09", "--target", built_target).exit_code == 0
    res = invoke("smoke", "--target", built_target, "--json")
    assert res.exit_code == 1 and "date_control" in {c["name"] for c in _json(res)["checks"] if c["status"] == "FAIL"}
    p = _json(invoke("plan", "--date", D.isoformat(), "--json", "--target", built_target))
    assert (p["action"], p["reason_code"], p["command"]) == ("rerun", "SMOKE_FAILED", f"dq smoke{_t(built_target)}"), p
    assert "dq dates set" in p["first"][0] and "rollback" not in json.dumps(p["first"] + p["then"]), p


def test_smoke_fails_a_deploy_that_removes_a_column_the_latest_release_published(built_target):
    """publish_contracts reads the checked-out contract, which a deploy changes along with the model: only the
    release shows that consumers of the same version lost a column."""
    res = invoke("smoke", "--target", built_target, "--json")
    assert {c["name"]: c["status"] for c in _json(res)["checks"]}["release_compat"] == "SKIPPED"
    rid = snapshot(built_target)["release_id"]
    res = invoke("smoke", "--target", built_target, "--json")
    assert res.exit_code == 0 and {c["name"]: c["status"] for c in _json(res)["checks"]}["release_compat"] == "PASS"
    with Warehouse(built_target) as wh:  # the release published a column the deployed code no longer has
        p = wh.param
        wh.execute(f"insert into meta.release_columns values ({p}, {p}, {p}, {p}, {p})",
                   [rid, "cdm_publish.customer_360_v1", "legacy_segment", "VARCHAR", 999])
    res = invoke("smoke", "--target", built_target, "--json")
    doc = _json(res)
    assert res.exit_code == 1 and doc["failed_checks"] == ["release_compat"], doc
    detail = next(c["detail"] for c in doc["checks"] if c["name"] == "release_compat")
    assert "cdm_publish.customer_360_v1: lost legacy_segment" in detail and rid in detail, detail
    # and the checked-out contract would drop it at the next build, even after a rollback brought it back
    assert "cdm_publish.customer_360_v1: the deployed contract drops legacy_segment" in detail, detail


def test_a_rollback_is_recorded_for_every_as_of_date_it_rewinds(built_target):
    """Restoring a release of D while the build is as of a later date changes what consumers read for every date
    up to the build's: `dq runs` / `dq plan` of the date being worked on must see it."""
    from dbt_project.plan import plan

    snap = snapshot(built_target)
    later = D + dt.timedelta(days=2)
    with Warehouse(built_target) as wh:  # as after two more daily builds
        wh.execute(f"update c360.customer_360 set as_of_date = {wh.param}", [later])
    res = invoke("release", "rollback", snap["release_id"], "--yes", "--target", built_target)
    assert res.exit_code == 0, res.output
    with Warehouse(built_target) as wh:
        rows = registry.list_runs(wh, last=None, business_date=later)
    assert [(r["job"], r["from_date"], r["to_date"]) for r in rows] == [("rollback", D, later)], rows
    assert plan(built_target, later).run_id == rows[0]["run_id"]


def test_dates_shows_what_consumers_read_when_a_rollback_left_publish_behind_the_build(built_target):
    with Warehouse(built_target) as wh:  # as after rolling back to a release of an earlier date
        wh.execute("update cdm_publish.customer_360_v1 set as_of_date = cast('2026-01-02' as date)")
    doc = _json(invoke("dates", "show", "--json", "--target", built_target))
    assert (doc["as_of_date"], doc["published_as_of_date"]) == (D.isoformat(), "2026-01-02"), doc
    text = invoke("dates", "show", "--target", built_target).output
    assert "consumers read cdm_publish as of 2026-01-02" in text, text


def test_without_a_published_layer_there_is_nothing_to_snapshot(target):
    assert _json(invoke("release", "list", "--json", "--target", target)) == []
    res = invoke("release", "snapshot", "--target", target)
    assert res.exit_code == 2 and "nothing is published" in res.output, res.output
    res = invoke("release", "rollback", "latest", "--yes", "--target", target)
    assert res.exit_code == 2 and "none yet" in res.output, res.output
