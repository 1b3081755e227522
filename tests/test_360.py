"""Interface layer, 360 tables and cdm_publish on DuckDB and PostgreSQL: built from the vault through the
mapping seeds, reconciled with the vault, and failing loudly when a number or a mapping is broken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbt_project import dbt
from dbt_project.project import root
from dbt_project.warehouse import Warehouse

DBT = str(Path(sys.executable).with_name("dbt"))
GHOST = "0" * 32


def run_dbt(command: str, target: str, *select: str) -> dbt.DbtOutcome:
    return dbt.run(dbt.build_argv(command, select=select, target=target, extra=["--quiet"]))


def failing(outcome: dbt.DbtOutcome) -> dict[str, str]:
    return {n["name"]: n["reason_code"] for n in outcome.failed_nodes}


def seed(target: str) -> None:
    """Load the mapping seeds (a test that builds with `dbt run` only: run loads no seed)."""
    outcome = dbt.run(dbt.build_argv("seed", target=target, extra=["--quiet"]))
    assert outcome.success, failing(outcome)


def test_the_360_tables_cover_the_vault_and_reconcile(built_target):
    with Warehouse(built_target) as wh:
        real_customers = wh.query(f"select count(*) from rdv.h_customer where customer_hk <> '{GHOST}'")[0][0]
        assert wh.query("select count(*) from c360.customer_360")[0][0] == real_customers > 0
        assert wh.query("select count(*) from cdm_publish.customer_360_v1")[0][0] == real_customers
        campaigns = wh.query(f"select count(*) from rdv.h_campaign where campaign_hk <> '{GHOST}'")[0][0]
        assert wh.query("select count(*) from cdm_publish.campaign_360_v1")[0][0] == campaigns > 0
        flowcharts = wh.query("select count(*), min(execution_count) from cdm_publish.flowchart_360_v1")[0]
        assert flowcharts[0] > 0 and flowcharts[1] > 0
        # the KPIs are not all zero: the demo data has contacts, responses and revenue
        contacts, responses, revenue = wh.query(
            "select sum(contacts), sum(responses), sum(revenue) from cdm_publish.campaign_360_v1")[0]
        assert contacts > 1000 and responses > 0 and revenue > 0
    outcome = run_dbt("test", built_target, "tag:reconciliation")
    assert outcome.success, failing(outcome)
    assert len([n for n in outcome.nodes if n["status"] == "pass"]) == 4


BREAKS = {
    "customer_360 loses a contact": (
        "update c360.customer_360 set contacts_total = contacts_total - 1 "
        "where customer_id = (select min(customer_id) from c360.customer_360 where contacts_total > 0)",
        {"customer_360_contacts_match_the_contact_link": "ROW_COUNT_MISMATCH"}),
    "customer_360 shows a response's first revenue, not its corrected one": (
        "update c360.customer_360 set revenue_total = revenue_total + 5 "
        "where customer_id = (select min(customer_id) from c360.customer_360 where responses_total > 0)",
        {"customer_360_responses_match_the_response_versions": "ROW_COUNT_MISMATCH"}),
    "a flowchart's revenue drifts": (
        "update c360.flowchart_360 set revenue = revenue + 1 "
        "where flowchart_id = (select min(flowchart_id) from c360.flowchart_360)",
        {"campaign_360_equals_the_sum_of_its_flowcharts": "ROW_COUNT_MISMATCH"}),
    "a campaign shows fewer contacts than its responses": (
        "update c360.campaign_360 set contacts = 0 "
        "where campaign_id = (select min(campaign_id) from c360.campaign_360 where responses > 0)",
        {"campaign_360_equals_the_sum_of_its_flowcharts": "ROW_COUNT_MISMATCH",
         "responses_never_exceed_contacts": "ANOMALY"}),
}


@pytest.mark.parametrize("broken", BREAKS, ids=list(BREAKS))
def test_a_broken_number_fails_reconciliation_with_its_reason_code(built_target, broken):
    sql, expected = BREAKS[broken]
    with Warehouse(built_target) as wh:
        wh.execute(sql)
    outcome = run_dbt("test", built_target, "tag:reconciliation")
    assert not outcome.success
    assert failing(outcome) == expected


UNMAPPED = {
    "contact status": ("update rdv.s_contact_status set contact_status_id = 97 "
                       "where contact_hk = (select min(contact_hk) from rdv.l_contact)",
                       "contact_status_id", "97"),
    "channel": ("update rdv.s_offer_details set channel = 'FAX' "
                f"where offer_hk = (select min(offer_hk) from rdv.h_offer where offer_hk <> '{GHOST}')",
                "source_channel", "FAX"),
    "country": ("update rdv.s_customer_profile set country = 'XX' "
                f"where customer_hk <> '{GHOST}'", "country_code", "XX"),
}


@pytest.mark.parametrize("code", UNMAPPED, ids=list(UNMAPPED))
def test_an_unmapped_code_fails_the_build_with_mapping_missing_and_names_the_code(built_target, code):
    sql, column, value = UNMAPPED[code]
    with Warehouse(built_target) as wh:
        wh.execute(sql)
    outcome = run_dbt("build", built_target, "ifl", "c360", "cdm_publish")
    assert not outcome.success
    failed = [n for n in outcome.failed_nodes if n["reason_code"] == "MAPPING_MISSING"]
    assert len(failed) == 1, outcome.failed_nodes
    assert column in failed[0]["name"]
    assert f"{value} (" in failed[0]["message"] and "seeds/map_" in failed[0]["message"]
    # nothing was published: the three publish tables move together, so none of them took the new build
    # (the country fails only customers; campaign and flowchart 360 still built, but were not published)
    published = {n["name"]: n["status"] for n in outcome.nodes if n["name"].startswith("pub_")}
    assert published == dict.fromkeys(("pub_customer_360", "pub_campaign_360", "pub_flowchart_360"), "skipped")


def rewrite_extract_file(day_dir: Path, table: str, rows: list[str]) -> None:
    """Replace one file of an extract's date (header kept) and its manifest entry (rows, sha256)."""
    from test_rdv import refresh_manifest_entry

    path = day_dir / f"{table}.csv"
    header = path.read_text().splitlines()[0]
    path.write_text("\n".join([header, *rows]) + "\n")
    refresh_manifest_entry(day_dir, table)


def corrected_response(row: str, type_id: str, revenue: str) -> str:
    """A ua_responsehistory row sent again with another ResponseTypeID and Revenue."""
    *head, _type, within, contacted, direct, _revenue = row.split(",")
    return ",".join([*head, type_id, within, contacted, direct, revenue])


def response_rows(src: Path, day) -> list[str]:
    return (src / str(day) / "ua_responsehistory.csv").read_text().splitlines()[1:]


def test_a_date_landed_again_with_corrected_statuses_shows_the_correction(built_target, clean_extract, tmp_path):
    """The correction has the same change time (UpdateDateTime) and business date as the status it replaces:
    the later landing (load_id) decides, on every build path, never the row order. Landing the original file
    once more undoes the correction."""
    import datetime as dt
    import shutil

    from dbt_project.build import build
    from dbt_project.ldz import ingest

    day = "2026-01-03"
    src = tmp_path / "src"
    shutil.copytree(clean_extract / day, src / day)
    rows = (src / day / "ua_contacthistory.csv").read_text().splitlines()[1:]
    fixed = [r.rsplit(",", 1)[0] + ",3" if r.endswith(",1") else r for r in rows]  # Contacted -> Bounced
    corrected = {tuple(r.split(",")[:3]) for r, f in zip(rows, fixed, strict=True) if r != f}
    assert len(corrected) > 20
    rewrite_extract_file(src / day, "ua_contacthistory", fixed)

    with Warehouse(built_target) as wh:
        assert not ingest(wh, src, dt.date(2026, 1, 3)).failed
    status_sql = "select customer_id, cell_id, package_id, contact_status_id from ifl.ifl_contact"
    for select, full_refresh in (((), False), (("ifl+",), True)):  # the day's incremental run, then a rebuild
        outcome = build(built_target, dt.date(2026, 1, 3), dt.date(2026, 1, 3), select, full_refresh, command="run")
        assert outcome.success, outcome.failed_nodes
        with Warehouse(built_target) as wh:
            shown = {(c, str(cell), str(pkg)): s for c, cell, pkg, s in wh.query(status_sql)}
        assert {shown[k] for k in corrected} == {3}, (full_refresh, sorted(shown[k] for k in corrected))

    rewrite_extract_file(src / day, "ua_contacthistory", rows)  # the source takes its correction back
    with Warehouse(built_target) as wh:
        assert not ingest(wh, src, dt.date(2026, 1, 3)).failed
    outcome = build(built_target, dt.date(2026, 1, 3), dt.date(2026, 1, 3))  # with dbt's tests, on the final state
    assert outcome.success, outcome.failed_nodes
    with Warehouse(built_target) as wh:
        shown = {(c, str(cell), str(pkg)): s for c, cell, pkg, s in wh.query(status_sql)}
    assert {shown[k] for k in corrected} == {1}


def test_a_response_delivered_again_with_corrected_values_reaches_the_360_tables(target, extract_factory, tmp_path):
    """Responses sent again with other values (type, revenue) — on a later date, or in the same date landed
    again, and undone by landing it once more — are current in ifl_response, and the 360 tables refreshed
    day by day show exactly what a full rebuild shows: the revenue and response counts of the latest
    delivery of every response."""
    import datetime as dt
    import shutil
    from decimal import Decimal

    from dbt_project.build import build
    from dbt_project.ldz import ingest

    src = tmp_path / "src"
    shutil.copytree(extract_factory(customers=1000, days=3, seed=21), src)
    d1, d2, d3 = (dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3))

    def rows(day: dt.date) -> list[str]:
        return response_rows(src, day)

    def land_and_build(day: dt.date, command: str = "run") -> None:  # dbt's tests: once, on the final state
        with Warehouse(target) as wh:
            assert not ingest(wh, src, day).failed
        outcome = build(target, day, day, command=command)
        assert outcome.success, failing(outcome)

    day2 = rows(d2)
    assert len(day2) >= 6
    # day 3 delivers six of day 2's responses again: three now purchases worth 1000.50, three complaints (not
    # counted as a response) worth 0
    again = ([corrected_response(r, "3", "1000.50") for r in day2[:3]]
             + [corrected_response(r, "6", "0.00") for r in day2[3:6]])
    rewrite_extract_file(src / str(d3), "ua_responsehistory", rows(d3) + again)
    seed(target)
    for day in (d1, d2, d3):
        land_and_build(day)
    assert _refreshed_from(target) == {d2}  # day 3's 360 states came from day 2's snapshot plus the changes

    # day 3 landed again with one of its own responses corrected: the later landing wins
    own = rows(d3)[0]
    rewrite_extract_file(src / str(d3), "ua_responsehistory", [corrected_response(own, "3", "77.25"), *rows(d3)[1:]])
    land_and_build(d3)
    assert _refreshed_from(target) == {d2, None}  # campaign_customer_state (in place) is rebuilt on a rerun
    with Warehouse(target) as wh:
        assert wh.query("select count(*) from ifl.ifl_response where revenue = 77.25")[0][0] == 1
    # ... and landed once more with that correction taken back (the values of its first landing)
    rewrite_extract_file(src / str(d3), "ua_responsehistory", [own, *rows(d3)[1:]])
    land_and_build(d3, "build")  # with the reconciliation tests (customer_360 = the latest response versions)

    latest: dict[tuple, tuple] = {}  # key -> (type, revenue) of the latest delivery, in business-date order
    for day in (d1, d2, d3):
        for r in rows(day):
            f = r.split(",")
            latest[tuple(f[:3])] = (int(f[4]), Decimal(f[8]))
    with Warehouse(target) as wh:
        shown = {(c, str(t), str(p)): (type_id, Decimal(str(rev))) for c, t, p, type_id, rev in wh.query(
            "select customer_id, treatment_inst_id, response_pack_id, response_type_id, revenue from ifl.ifl_response")}
        assert shown == latest
        counted = {k for k, (type_id, _rev) in latest.items() if type_id in (2, 3, 4)}
        assert wh.query("select sum(responses_total), sum(revenue_total) from c360.customer_360")[0] == (
            len(counted), sum(rev for _type, rev in latest.values()))
    refreshed = _c360_snapshot(target)
    outcome = build(target, d1, d3, select=["ifl", "c360"], full_refresh=True)
    assert outcome.success, failing(outcome)
    assert _c360_snapshot(target) == refreshed, _first_difference(refreshed, _c360_snapshot(target))


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_readers_of_the_published_tables_keep_their_grant_across_rebuilds(built_target, monkeypatch):
    """Every build replaces a publish table (a grant given by hand goes with the old one): DQ_PUBLISH_READERS
    roles are granted select again by each build."""
    with Warehouse(built_target) as wh:
        wh.execute("do $$ begin if not exists (select from pg_roles where rolname = 'cdm_reader') then "
                   "create role cdm_reader; end if; end $$")
    monkeypatch.setenv("DQ_PUBLISH_READERS", "cdm_reader, ")
    can_read = ("select has_table_privilege('cdm_reader', 'cdm_publish.' || t, 'select') from (values "
                "('customer_360_v1'), ('campaign_360_v1'), ('flowchart_360_v1')) as v(t)")
    for _ in range(2):  # granted by the build, and again by the next one
        outcome = run_dbt("build", built_target, "cdm_publish")
        assert outcome.success, [n["message"] for n in outcome.failed_nodes]
        with Warehouse(built_target) as wh:
            assert [r[0] for r in wh.query(can_read)] == [True, True, True]
            wh.execute("set role cdm_reader")  # the schema's usage too: the role really reads
            assert wh.scalar("select count(*) from cdm_publish.customer_360_v1") > 0
            wh.execute("reset role")
    from dbt_project import release

    snap = release.snapshot(built_target)
    with Warehouse(built_target) as wh:  # drift: the rollback drops and recreates the table
        wh.execute("alter table cdm_publish.flowchart_360_v1 drop column revenue")
    assert release.rollback(built_target, snap.release_id).status == "success"
    with Warehouse(built_target) as wh:
        assert [r[0] for r in wh.query(can_read)] == [True, True, True]  # the recreated table too
    monkeypatch.delenv("DQ_PUBLISH_READERS")
    assert run_dbt("build", built_target, "cdm_publish").success
    with Warehouse(built_target) as wh:  # without the setting, a rebuilt table has no reader grant (as said)
        assert [r[0] for r in wh.query(can_read)] == [False, False, False]


def test_dbt_build_select_c360_cdm_publish_from_the_root(built_target, engine):
    # DuckDB is the default target (no flags at all); PostgreSQL is chosen by name
    flags = [] if engine == "duckdb" else ["--target", built_target]
    out = subprocess.run([DBT, "build", "--select", "c360", "cdm_publish", *flags], cwd=root(),
                         env=dict(os.environ), capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "customer_360_v1" in out.stdout and "Completed successfully" in out.stdout


def _c360_snapshot(target: str) -> dict[str, list]:
    out = {}
    with Warehouse(target) as wh:
        for table in ("customer_360", "campaign_360", "flowchart_360"):
            rows = wh.query(f"select * from c360.{table}")
            out[table] = sorted((tuple(round(v, 9) if isinstance(v, float) else str(v) for v in r) for r in rows),
                                key=repr)
    return out


def _first_difference(incremental: dict, full: dict) -> str:
    for table, rows in incremental.items():
        for got, want in zip(rows, full[table], strict=False):
            if got != want:
                return f"{table}: refreshed {got} != rebuilt {want}"
    return "row counts differ"


def _refreshed_from(target: str) -> set:
    """How the latest snapshot of each 360 state model was built: the snapshot it started from (fast) or
    None (from all facts)."""
    with Warehouse(target) as wh:
        return {wh.query(f"select max(refreshed_from) from c360.{state} "
                         f"where as_of_date = (select max(as_of_date) from c360.{state})")[0][0]
                for state in STATES}


STATES = ("customer_360_state", "customer_channel_state", "campaign_activity_state", "campaign_customer_state")


def _ifl_facts(target: str) -> list[tuple]:
    out = []
    with Warehouse(target) as wh:
        for table in ("ifl_contact", "ifl_response"):
            columns, rows = wh.query_with_columns(f"select * from ifl.{table}")
            keep = [i for i, c in enumerate(columns) if c != "_loaded_at"]
            out += sorted((table, *(str(r[i]) for i in keep)) for r in rows)
    return out


def test_ifl_facts_out_of_order_dates_and_reruns_equal_a_full_rebuild(target, extract_factory, tmp_path):
    """ifl_contact's day refresh takes a touched contact's status as the latest of what it already holds
    and the window's status versions (not the satellite's history); ifl_response does the same with a
    response's attributes. Dates loaded out of order (the last date, restating contacts and sending day 2's
    responses again corrected, before day 2), then reruns of both, end with exactly the rows a full rebuild
    ranks from every version."""
    import datetime as dt
    import shutil

    from dbt_project.build import build
    from dbt_project.ldz import ingest

    src = tmp_path / "src"
    shutil.copytree(extract_factory("restated_contacts", customers=200, days=3, seed=11), src)
    d1, d2, d3 = (dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3))
    again = [corrected_response(r, "3", "12.34") for r in response_rows(src, d2)]
    assert again
    rewrite_extract_file(src / str(d3), "ua_responsehistory", response_rows(src, d3) + again)
    with Warehouse(target) as wh:
        for day in (d1, d2, d3):
            assert not ingest(wh, src, day).failed
    seed(target)
    for day in (d1, d3, d2, d3, d2):
        outcome = build(target, day, day, select=["staging", "rdv", "ifl"], command="run")
        assert outcome.success, failing(outcome)
    with Warehouse(target) as wh:  # the case at stake happened: contacts and responses with versions from two dates
        for sat, key in (("s_contact_status", "contact_hk"), ("s_response_details", "response_hk")):
            versions = wh.query(f"select count(*) from (select {key} from rdv.{sat} "
                                f"group by {key} having count(distinct business_date) > 1) as restated")[0][0]
            assert versions > 0, sat
        shown = wh.query("select count(*) from ifl.ifl_response where revenue = 12.34 and response_type_id = 3")[0][0]
    assert shown == len(again)
    incremental = _ifl_facts(target)
    outcome = build(target, d1, d3, select=["ifl"], full_refresh=True, command="run")
    assert outcome.success, failing(outcome)
    assert incremental == _ifl_facts(target)


def test_day_by_day_incremental_refresh_equals_a_full_rebuild(target, extract_factory):
    """Day-by-day builds (each 360 state refreshed from the previous day's snapshot plus the day's changes,
    contact statuses restated on the last day) end with exactly the 360 tables a full rebuild of the same
    vault gives; so do later as-of dates where contacts and responses leave the 30- and 90-day windows."""
    import datetime as dt

    from dbt_project.build import build
    from dbt_project.ldz import ingest

    src = extract_factory("restated_contacts", customers=300, days=3, seed=8)
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
    with Warehouse(target) as wh:
        for day in days:
            assert not ingest(wh, src, day).failed
    seed(target)
    for day in days:  # dbt's tests on the last day's state only
        outcome = build(target, day, day, command="build" if day == days[-1] else "run")
        assert outcome.success, failing(outcome)
    assert _refreshed_from(target) == {days[1]}  # day 3 was refreshed from day 2's snapshot, not rebuilt
    incremental = _c360_snapshot(target)
    outcome = build(target, days[-1], days[-1], command="run")  # a rerun of the last date changes nothing
    assert outcome.success, failing(outcome)
    assert _c360_snapshot(target) == incremental
    with Warehouse(target) as wh:  # the restated statuses reached the interface layer
        restated = wh.query("select count(*) from rdv.s_contact_status s join rdv.s_contact_status t "
                            "on s.contact_hk = t.contact_hk and s.load_dts < t.load_dts")[0][0]
        assert restated > 0
    outcome = build(target, days[0], days[-1], select=["ifl", "c360"], full_refresh=True)
    assert outcome.success, failing(outcome)
    assert _c360_snapshot(target) == incremental
    assert len(incremental["customer_360"]) == 300

    # later as-of dates with no new data: day 3's activity leaves the 30-day window, then the 90-day one
    previous = days[-1]
    for later, window_left in ((days[-1] + dt.timedelta(days=28), None),  # day 1 leaves the 30 days
                               (days[-1] + dt.timedelta(days=30), "contacts_30d"),
                               (days[-1] + dt.timedelta(days=95), "contacts_90d")):
        argv = dbt.build_argv("run", select=["c360"], target=target, vars={"as_of": str(later)}, extra=["--quiet"])
        outcome = dbt.run(argv)
        assert outcome.success, failing(outcome)
        assert _refreshed_from(target) == {previous}
        sliding = _c360_snapshot(target)
        outcome = dbt.run([*argv, "--full-refresh"])
        assert outcome.success, failing(outcome)
        assert _refreshed_from(target) == {None}
        rebuilt = _c360_snapshot(target)
        assert rebuilt == sliding, _first_difference(sliding, rebuilt)
        if window_left:
            with Warehouse(target) as wh:
                total, in_window = wh.query(f"select sum(contacts_total), sum({window_left}) from c360.customer_360")[0]
            assert total > 0 and in_window == 0
        previous = later
