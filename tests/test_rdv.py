"""Raw Data Vault guarantees (DESIGN.md §6), each on DuckDB and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from dbt_project.build import build
from dbt_project.generator import count_data_rows, sha256_file
from dbt_project.ldz import ingest
from dbt_project.warehouse import Warehouse

GHOST = "0" * 32
D = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(4)]
TECHNICAL = ("load_dts", "business_date", "record_source", "load_id")


def land(target: str, src: Path, dates) -> None:
    with Warehouse(target) as wh:
        for day in dates:
            res = ingest(wh, src, day)
            assert res.reason_code is None and not res.failed, res.as_dict()


def load(target: str, first: dt.date, last: dt.date | None = None):
    """Load the window through staging and the vault (models only: the dbt tests run in their own test)."""
    outcome = build(target, first, last or first, select=["staging", "rdv"], command="run")
    assert outcome.success, [(n["name"], n["message"]) for n in outcome.failed_nodes] or outcome.error
    return outcome


def _norm(v):
    if isinstance(v, decimal.Decimal):
        return str(v.quantize(decimal.Decimal("0.01")))
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def snapshot(target: str, drop_first_seen: bool = False, drop_load_id: bool = False) -> dict[str, list]:
    """Every RDV table as sorted rows. drop_first_seen: hubs, links and refs without the technical
    columns of their first sighting (which depend on load order by definition)."""
    out = {}
    with Warehouse(target) as wh:
        tables = [r[0] for r in wh.query(
            "select table_name from information_schema.tables where table_schema = 'rdv' order by 1")]
        for t in tables:
            cols = [r[0] for r in wh.query(
                "select column_name from information_schema.columns where table_schema = 'rdv' "
                f"and table_name = '{t}' order by ordinal_position")]
            if drop_first_seen and not t.startswith("s_"):
                cols = [c for c in cols if c not in TECHNICAL]
            if drop_load_id:
                cols = [c for c in cols if c != "load_id"]
            rows = wh.query(f"select {', '.join(cols)} from rdv.{t}")
            out[t] = sorted((tuple(_norm(v) for v in r) for r in rows), key=repr)
    return out


def content_hash(snap: dict[str, list]) -> dict[str, str]:
    return {t: hashlib.sha256(repr(rows).encode()).hexdigest() for t, rows in snap.items()}


@pytest.fixture(scope="module")
def vault_extract(tmp_path_factory) -> Path:
    from dbt_project.generator import generate

    out = tmp_path_factory.mktemp("vault")
    generate(out, customers=300, days=4, seed=21)
    return out


def test_rerunning_a_date_leaves_every_rdv_table_identical(target, vault_extract):
    land(target, vault_extract, D[:3])
    load(target, D[0], D[2])
    before = content_hash(snapshot(target))
    assert len(before) == 25  # every RDV table, s_customer_ml_score included
    load(target, D[2])
    load(target, D[2])
    load(target, D[0], D[2])
    assert content_hash(snapshot(target)) == before
    land(target, vault_extract, D[2:3])  # landed again unchanged: a new load id, the same rows
    load(target, D[2])
    assert content_hash(snapshot(target)) == before


def test_a_range_in_one_invocation_equals_loading_day_by_day(target_env, engine, vault_extract):
    one = target_env(engine)
    land(one, vault_extract, D)
    load(one, D[0], D[3])
    by_range = snapshot(one, drop_load_id=True)
    daily = target_env(engine)  # a second, fresh warehouse (the target now points at it)
    land(daily, vault_extract, D)
    for day in D:
        load(daily, day)
    assert snapshot(daily, drop_load_id=True) == by_range
    assert len(by_range["l_contact"]) > 1000


def test_out_of_order_dates_give_the_same_vault(target_env, engine, vault_extract):
    in_order = target_env(engine)
    land(in_order, vault_extract, D)
    for day in D:
        load(in_order, day)
    # satellites identical row for row (load_dts included); hubs, links and references: the same keys
    # and attributes, while their first-seen columns record the order the dates actually came in
    expected = snapshot(in_order, drop_first_seen=True, drop_load_id=True)
    shuffled = target_env(engine)  # a second, fresh warehouse (the target now points at it)
    land(shuffled, vault_extract, D)
    for day in (D[0], D[3], D[1], D[2]):
        load(shuffled, day)
    assert snapshot(shuffled, drop_first_seen=True, drop_load_id=True) == expected


def test_several_changes_of_one_key_in_one_batch_are_kept_in_order(target, vault_extract, tmp_path):
    rows = []

    def add_an_older_change(csv_rows: list[list[str]]) -> None:
        header, first = csv_rows[0], csv_rows[1]
        older = list(first)
        older[header.index("UpdateDate")] = D[0].isoformat()  # a late, older change of the same customer
        older[header.index("Segment")] = "GOLD" if first[header.index("Segment")] != "GOLD" else "NEW"
        csv_rows.append(older)
        rows.extend(csv_rows)

    src = edited_copy(vault_extract, tmp_path, D[1], "customer", add_an_older_change)
    header, first, older = rows[0], rows[1], rows[-1]

    land(target, src, D[:3])
    load(target, D[0], D[2])  # one batch: day 1..3
    customer = first[0]
    with Warehouse(target) as wh:
        p = wh.param
        versions = wh.query(
            "select s.effective_from, s.load_dts, s.segment from rdv.s_customer_profile s "
            "join rdv.h_customer h on h.customer_hk = s.customer_hk "
            f"where h.customer_id = {p} order by s.effective_from, s.load_dts", [customer])
        landed = wh.scalar(f"select count(*) from ldz.ldz_customer where customerid = {p}", [customer])
    assert len(versions) == landed >= 3
    assert [v[2] for v in versions if v[1].date() == D[1]] == [older[header.index("Segment")],
                                                               first[header.index("Segment")]]
    assert versions == sorted(versions)


def test_a_restated_contact_history_adds_no_duplicate_contact(target, extract_factory):
    src = extract_factory("restated_contacts", customers=300, days=2, seed=5)
    report = json.loads((src / "_injections.json").read_text())[0]
    land(target, src, D[:2])
    load(target, D[0], D[1])  # the original and its restatement in one batch
    load(target, D[1])  # and the restating day again on its own
    with Warehouse(target) as wh:
        distinct_contacts = wh.scalar(
            "select count(*) from (select distinct customerid, cellid, packageid from ldz.ldz_ua_contacthistory) x")
        link_rows, link_keys = wh.query("select count(*), count(distinct contact_hk) from rdv.l_contact")[0]
        restated_versions = wh.scalar(
            "select count(*) from rdv.s_contact_status s join rdv.l_contact l on l.contact_hk = s.contact_hk "
            f"where l.package_id = {wh.param}", [report["package_id"]])
        first_delivery = wh.scalar(
            f"select count(*) from rdv.l_contact where package_id = {wh.param}", [report["package_id"]])
    assert link_rows == link_keys == distinct_contacts
    assert restated_versions == 2 * first_delivery == 2 * report["restated_rows"]


def test_null_business_keys_resolve_to_the_ghost_and_are_counted(target, vault_extract, tmp_path):
    def blank_two_offers(csv_rows: list[list[str]]) -> None:
        offer = csv_rows[0].index("OfferID")
        csv_rows[1][offer], csv_rows[2][offer] = "", "  "  # two treatments without an offer

    src = edited_copy(vault_extract, tmp_path, D[0], "ua_treatment", blank_two_offers)

    land(target, src, D[:1])
    outcome = build(target, D[0], D[0], select=["staging", "rdv"])
    assert outcome.success  # a ghost reference warns, it does not fail the load
    warned = {n["name"]: n for n in outcome.warned_nodes}
    null_key = [n for name, n in warned.items() if "no_ghost_reference" in name and "offer_hk" in name]
    assert len(null_key) == 1 and null_key[0]["reason_code"] == "NULL_KEY" and null_key[0]["failures"] == 2
    with Warehouse(target) as wh:
        assert wh.scalar("select count(*) from rdv.h_offer where offer_id is null") == 1  # only the ghost
        assert wh.scalar(f"select count(*) from rdv.l_treatment_cell where offer_hk = '{GHOST}'") == 2
        tables = [r[0] for r in wh.query("select table_name from information_schema.tables "
                                         "where table_schema = 'rdv' and left(table_name, 2) in ('h_', 's_')")]
        assert len(tables) == 17  # 7 hubs, 10 satellites (s_customer_ml_score included)
        for t in tables:
            hk = wh.scalar(
                "select column_name from information_schema.columns where table_schema = 'rdv' "
                f"and table_name = '{t}' order by ordinal_position")
            assert wh.scalar(f"select count(*) from rdv.{t} where {hk} = '{GHOST}'") == 1, t


def edited_copy(extract: Path, tmp_path: Path, day: dt.date, table: str, edit) -> Path:
    """A copy of the extract with one table of one date edited in place, its manifest kept consistent."""
    src = tmp_path / "src"
    shutil.copytree(extract, src)
    folder = src / day.isoformat()
    path = folder / f"{table}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    edit(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    refresh_manifest_entry(folder, table)
    return src


def refresh_manifest_entry(folder: Path, table: str) -> None:
    """After editing `<folder>/<table>.csv` by hand: its manifest entry's sha256 and rows, from the file."""
    path = folder / f"{table}.csv"
    manifest = json.loads((folder / "_manifest.json").read_text())
    for f in manifest["files"]:
        if f["table"] == table:
            f["sha256"], f["rows"] = sha256_file(path), count_data_rows(path)
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
