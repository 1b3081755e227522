"""LDZ ingestion on DuckDB, PostgreSQL and the Snowflake emulator: contracts, rejects, atomic replacement,
fingerprints."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from dbt_project import ldz
from dbt_project.contracts import CONTRACTS
from dbt_project.generator import generate, inject_into
from dbt_project.ldz import ingest, new_load_id
from dbt_project.reason_codes import ReasonCode as R

D1, D2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)


@pytest.fixture(params=["duckdb", "postgres", "snowflake"])
def engine(request) -> str:
    """Every ingest test runs on each engine, Snowflake's emulator included (conftest.target_env)."""
    return request.param

# injection kind -> (table it damages, table status, reason code)
EXPECTED = {
    "missing_file": ("ua_offer", "FAILED", R.MISSING_FILE),
    "empty_file": ("ua_cell", "FAILED", R.EMPTY_FILE),
    "bad_delimiter": ("ua_campaign", "FAILED", R.BAD_FORMAT),
    "missing_column": ("ua_flowchart", "FAILED", R.SCHEMA_MISMATCH),
    "extra_column": ("ua_treatment", "FAILED", R.SCHEMA_MISMATCH),
    "checksum_mismatch": ("ua_ccrunlog", "FAILED", R.CHECKSUM_MISMATCH),
    "truncated_file": ("ua_responsehistory", "FAILED", R.BAD_FORMAT),
    "bad_encoding": ("customer", "FAILED", R.BAD_FORMAT),
    "bad_date": ("customer", "LOADED", R.BAD_VALUE),
    "bad_number": ("ua_contacthistory", "LOADED", R.BAD_VALUE),
    "null_key": ("customer", "LOADED", R.NULL_KEY),
    "duplicate_rows": ("ua_contacthistory", "LOADED", R.DUPLICATE_KEY),
}


def manifest_rows(folder: Path, day: dt.date) -> dict[str, int]:
    m = json.loads((folder / day.isoformat() / "_manifest.json").read_text())
    return {f["table"]: f["rows"] for f in m["files"]}


def ldz_count(wh, table: str, day: dt.date) -> int:
    return int(wh.scalar(f"select count(*) from ldz.ldz_{table} where _business_date = {wh.param}", [day]))


def rejects(wh, day: dt.date, table: str | None = None) -> list[tuple]:
    p = wh.param
    sql = f"select table_name, row_number, reason_code, raw_line from ldz.ldz_rejects where business_date = {p}"
    args: list = [day]
    if table:
        sql += f" and table_name = {p}"
        args.append(table)
    return wh.query(sql + " order by table_name, row_number", args)


def test_clean_date_lands_every_row_with_lineage(warehouse, clean_extract):
    res = ingest(warehouse, clean_extract, D1)
    assert res.ok and res.reason_codes == []
    expected = manifest_rows(clean_extract, D1)
    for t in res.tables:
        assert (t.status, t.rows_file, t.rows_loaded, t.rows_rejected) == ("LOADED", expected[t.table],
                                                                           expected[t.table], 0)
        assert ldz_count(warehouse, t.table, D1) == expected[t.table]
    n, first, last, files, loads = warehouse.query(
        "select count(*), min(_row_number), max(_row_number), count(distinct _source_file), count(distinct _load_id)"
        " from ldz.ldz_customer")[0]
    assert (n, first, last, files, loads) == (400, 1, 400, 1, 1)
    assert rejects(warehouse, D1) == []


def test_fingerprints_are_recorded(warehouse, clean_extract):
    res = ingest(warehouse, clean_extract, D1)
    manifest = json.loads((clean_extract / "2026-01-01" / "_manifest.json").read_text())
    logged = {r[0]: r[1:] for r in warehouse.query(
        "select table_name, sha256, size_bytes, rows_file, status from meta.ldz_files "
        f"where load_id = {warehouse.param}",
        [res.load_id])}
    for f in manifest["files"]:
        size = (clean_extract / "2026-01-01" / f["file"]).stat().st_size
        assert logged[f["table"]] == (f["sha256"], size, f["rows"], "LOADED")


def test_load_ids_of_a_date_sort_by_landing_time_across_calendar_days():
    """The vault ranks a date's versions by load_id: a landing after midnight must sort after one before it,
    and after the ids of older releases (time of day only)."""
    before_midnight = new_load_id(D2, dt.datetime(2026, 11, 24, 23, 59, 0, 999999))
    after_midnight = new_load_id(D2, dt.datetime(2026, 11, 25, 0, 1, 0, 1))
    same_second_later = new_load_id(D2, dt.datetime(2026, 11, 25, 0, 1, 0, 2))
    older_release = "20260102-235959-999999ffff"
    assert older_release < before_midnight < after_midnight < same_second_later
    assert before_midnight.startswith("20260102-")


def test_reingest_replaces_the_date_and_never_duplicates(warehouse, clean_extract):
    for day in (D1, D2):
        ingest(warehouse, clean_extract, day)
    before = {t: (ldz_count(warehouse, t, D1), ldz_count(warehouse, t, D2)) for t in CONTRACTS}
    again = ingest(warehouse, clean_extract, D2)
    again = ingest(warehouse, clean_extract, D2)
    after = {t: (ldz_count(warehouse, t, D1), ldz_count(warehouse, t, D2)) for t in CONTRACTS}
    assert before == after
    loads = warehouse.query(
        f"select distinct _load_id from ldz.ldz_ua_contacthistory where _business_date = {warehouse.param}", [D2])
    assert loads == [(again.load_id,)]


def test_a_restated_extract_replaces_the_day(warehouse, tmp_path, clean_extract):
    ingest(warehouse, clean_extract, D1)
    restated = tmp_path / "restated"
    generate(restated, customers=250, days=1, seed=99)  # a different extract for the same date
    res = ingest(warehouse, restated, D1)
    assert res.ok
    for table, n in manifest_rows(restated, D1).items():
        assert ldz_count(warehouse, table, D1) == n


def test_restated_contacts_are_versions_not_duplicates(warehouse, extract_factory):
    out = extract_factory("restated_contacts")
    report = json.loads((out / "_injections.json").read_text())[0]
    res = ingest(warehouse, out, D2)
    assert res.ok
    contacts = next(t for t in res.tables if t.table == "ua_contacthistory")
    assert contacts.rows_loaded == manifest_rows(out, D2)["ua_contacthistory"]
    versions = warehouse.scalar(
        "select count(*) from ldz.ldz_ua_contacthistory where packageid = "
        f"{warehouse.param} and _business_date = {warehouse.param}", [report["package_id"], D2])
    assert versions >= report["restated_rows"] > 0


def test_restated_responses_are_versions_not_duplicates(warehouse, extract_factory):
    """Responses of day 2 sent again corrected on day 3 load on day 3 (no change time: the business date
    tells the versions apart), and day 2 keeps its own."""
    out = extract_factory("restated_responses", days=3)
    report = json.loads((out / "_injections.json").read_text())[0]
    d3 = D2 + dt.timedelta(days=1)
    for day in (D1, D2, d3):
        assert ingest(warehouse, out, day).ok, day
    assert ldz_count(warehouse, "ua_responsehistory", d3) == manifest_rows(out, d3)["ua_responsehistory"]
    p = warehouse.param
    both = warehouse.query(
        f"""select count(*), sum(n.revenue - o.revenue) from ldz.ldz_ua_responsehistory n
            join ldz.ldz_ua_responsehistory o using (customerid, treatmentinstid, responsepackid, responsedatetime)
            where n._business_date = {p} and o._business_date = {p}""", [d3, D2])[0]
    assert (both[0], float(both[1])) == (report["restated_rows"], 10.0 * report["restated_rows"])


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_injected_kind_is_caught_and_nothing_else_is_lost(warehouse, extract_factory, kind):
    table, status, reason = EXPECTED[kind]
    out = extract_factory(kind)
    report = json.loads((out / "_injections.json").read_text())[0]
    assert report["table"] == table
    res = ingest(warehouse, out, D2)
    assert not res.ok and reason.value in res.reason_codes
    by_table = {t.table: t for t in res.tables}
    damaged = by_table[table]
    assert (damaged.status, damaged.reason_code) == (status, reason.value), damaged.message
    assert damaged.message

    expected = manifest_rows(out, D2)
    for t, r in by_table.items():
        if t == table:
            continue
        assert (r.status, r.rows_loaded, r.rows_rejected) == ("LOADED", expected[t], 0), t
        assert ldz_count(warehouse, t, D2) == expected[t], t

    quarantined = rejects(warehouse, D2)
    if status == "FAILED":
        assert ldz_count(warehouse, table, D2) == 0
        assert quarantined == []
    else:
        # a conflicting pair is rejected whole: the original row of the conflict goes too
        expected_rows = sorted({*report["rows"], *([report["conflict_with"]] if "conflict_with" in report else [])})
        assert {r[0] for r in quarantined} == {table}
        assert [r[1] for r in quarantined] == expected_rows
        assert {r[2] for r in quarantined} == {reason.value}
        assert all(r[3] for r in quarantined)  # the raw line is kept
        assert ldz_count(warehouse, table, D2) == expected[table] - len(expected_rows)
        assert damaged.rows_loaded + damaged.rows_rejected == damaged.rows_file == expected[table]


def test_rejected_raw_line_is_the_source_record(warehouse, extract_factory):
    out = extract_factory("bad_date")
    report = json.loads((out / "_injections.json").read_text())[0]
    ingest(warehouse, out, D2)
    lines = (out / "2026-01-02" / "customer.csv").read_text(encoding="utf-8").splitlines()
    got = [r[3] for r in rejects(warehouse, D2, "customer")]
    assert got == [lines[i] for i in report["rows"]]


def test_duplicates_keep_the_first_copy_and_reject_conflicts(warehouse, extract_factory):
    out = extract_factory("duplicate_rows")
    report = json.loads((out / "_injections.json").read_text())[0]
    ingest(warehouse, out, D2)
    details = {r[0]: r[1] for r in warehouse.query(
        "select row_number, reason_detail from ldz.ldz_rejects where table_name = 'ua_contacthistory'")}
    original = report["conflict_with"]
    # exact copies: rejected, the original loads; a conflicting pair: both rejected
    assert set(details) == {*report["rows"], original}
    assert all("exact duplicate" in details[r] for r in report["rows"][:2])
    assert "conflicting" in details[original] and "conflicting" in details[report["rows"][2]]
    kept = warehouse.query(
        "select _row_number from ldz.ldz_ua_contacthistory "
        f"where _row_number in ({warehouse.param}, {warehouse.param})",
        report["duplicates_of"])
    assert sorted(r[0] for r in kept) == report["duplicates_of"]


def test_a_failed_table_keeps_what_it_had_for_the_date(warehouse, tmp_path, clean_extract):
    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    ingest(warehouse, src, D2)
    before = ldz_count(warehouse, "ua_contacthistory", D2)
    inject_into(src / "2026-01-02", "empty_file", "ua_contacthistory")
    res = ingest(warehouse, src, D2)
    assert {t.table: t.reason_code for t in res.failed} == {"ua_contacthistory": R.EMPTY_FILE.value}
    assert ldz_count(warehouse, "ua_contacthistory", D2) == before > 0


def test_a_file_whose_records_differ_from_its_manifest_count_fails_whole(warehouse, tmp_path, clean_extract):
    """Records lost (or added) with the manifest written after the loss, so the sha256 agrees: the table fails
    with ROW_COUNT_MISMATCH and loads nothing partial (it keeps what it had); the other tables load."""
    from dbt_project.generator import sha256_file

    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    ingest(warehouse, src, D2)
    before = {t: ldz_count(warehouse, t, D2) for t in CONTRACTS}
    path = src / "2026-01-02" / "ua_contacthistory.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for kept in (lines[:-3], [*lines, lines[-1]]):  # 3 records short; one record more
        path.write_text("".join(kept), encoding="utf-8")
        manifest = src / "2026-01-02" / "_manifest.json"
        doc = json.loads(manifest.read_text())
        next(f for f in doc["files"] if f["table"] == "ua_contacthistory")["sha256"] = sha256_file(path)
        manifest.write_text(json.dumps(doc))
        res = ingest(warehouse, src, D2)
        assert not res.ok and {t.table: (t.status, t.reason_code) for t in res.failed} == {
            "ua_contacthistory": ("FAILED", R.ROW_COUNT_MISMATCH.value)}, res.as_dict()
        failed = res.failed[0]
        assert (failed.rows_file, failed.rows_loaded) == (len(kept) - 1, 0) and "manifest says" in failed.message
        assert {t: ldz_count(warehouse, t, D2) for t in CONTRACTS} == before
        assert rejects(warehouse, D2) == []


def test_missing_optional_table_is_a_warning(warehouse, tmp_path, clean_extract):
    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    (src / "2026-01-02" / "ua_responsetype.csv").unlink()
    res = ingest(warehouse, src, D2)
    skipped = next(t for t in res.tables if t.table == "ua_responsetype")
    assert (skipped.status, skipped.reason_code) == ("SKIPPED", R.OPTIONAL_UNAVAILABLE.value)
    assert R.OPTIONAL_UNAVAILABLE.severity == "warning"
    assert res.ok


def test_missing_folder_or_manifest_fails_the_date(warehouse, tmp_path, clean_extract):
    res = ingest(warehouse, tmp_path / "nowhere", D1)
    assert res.reason_code == R.MISSING_FILE.value and not res.ok
    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    (src / "2026-01-01" / "_manifest.json").unlink()
    assert ingest(warehouse, src, D1).reason_code == R.MISSING_FILE.value
    (src / "2026-01-02" / "_manifest.json").write_text("{not json")
    assert ingest(warehouse, src, D2).reason_code == R.BAD_FORMAT.value


def test_the_date_is_replaced_atomically(warehouse, clean_extract, monkeypatch):
    ingest(warehouse, clean_extract, D1)
    before = {t: ldz_count(warehouse, t, D1) for t in CONTRACTS}
    real = ldz._load_staged
    calls = []

    def fail_on_the_fourth_table(wh, c, *args):
        calls.append(c.table)
        if len(calls) == 4:
            raise RuntimeError("the warehouse went away mid-load")
        return real(wh, c, *args)

    monkeypatch.setattr(ldz, "_load_staged", fail_on_the_fourth_table)
    with pytest.raises(RuntimeError):
        ingest(warehouse, clean_extract, D1)
    assert {t: ldz_count(warehouse, t, D1) for t in CONTRACTS} == before
    loads = warehouse.query("select count(distinct _load_id) from ldz.ldz_customer")
    assert loads == [(1,)]


def _with_values(src: Path, day: dt.date, table: str, column: str, values: list[str]) -> int:
    """Rewrite `src`'s file of `table` as it was first, but with values[i] in `column` of data record i + 1,
    its manifest's sha256 updated. Returns the file's row count."""
    import csv

    from dbt_project.generator import sha256_file

    path = src / day.isoformat() / f"{table}.csv"
    first = src.parent / f"{src.name}.first" / day.isoformat() / path.name  # the file before any rewrite
    if not first.exists():
        first.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, first)
    rows = list(csv.reader(first.open(newline="", encoding="utf-8")))
    assert len(rows) > len(values), f"{path} has too few rows for {len(values)} values"
    for i, value in enumerate(values, start=1):
        rows[i][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    manifest = src / day.isoformat() / "_manifest.json"
    doc = json.loads(manifest.read_text())
    for f in doc["files"]:
        if f["table"] == table:
            f["sha256"] = sha256_file(path)
    manifest.write_text(json.dumps(doc))
    return len(rows) - 1


def _outcomes(wh, src: Path, day: dt.date, table: str, column: str, values: list[str]) -> dict[str, str | None]:
    """Ingest `src` with `values` in the first records of `table` (_with_values): each value's reason code
    (None: it loaded). Every other row of the file must load."""
    rows = _with_values(src, day, table, column, values)
    res = ingest(wh, src, day)
    result = next(t for t in res.tables if t.table == table)
    assert result.status == "LOADED", result.message
    rejected = {row: reason for _t, row, reason, _line in rejects(wh, day, table)}
    assert set(rejected) <= set(range(1, len(values) + 1)), rejected
    assert ldz_count(wh, table, day) == rows - len(rejected)
    return {value: rejected.get(i) for i, value in enumerate(values, start=1)}


def _loaded(wh, day: dt.date, table: str, column: str) -> list:
    """`column` of the first records of `table` as loaded, in record order."""
    return [v for (v,) in wh.query(f"select {column.lower()} from ldz.ldz_{table} where _business_date = "
                                   f"{wh.param} order by _row_number", [day])]


def test_dates_and_timestamps_must_be_iso_8601_on_every_engine(warehouse, tmp_path, clean_extract):
    """PostgreSQL parses far more than ISO 8601 ('T', slashes, month names): such a value, and a well-shaped
    one that is no calendar day, is BAD_VALUE on every engine; the rest of the file loads. So are the year
    0000 (DuckDB: 1 BC), the hour 24 and the leap second (PostgreSQL: the next day's midnight)."""
    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    bad = ["2026-01-02T10:00:00", "01/02/2026 10:00:00", "Jan 2 2026 10:00", "2026-02-30 10:00:00",
           "\t2026-01-02 10:00:00", "\u00a02026-01-02 10:00:00", "2026-1-2 10:00:00",
           "0000-01-02 10:00:00", "2026-01-02 23:59:60", "2026-01-02 24:00:00", "2026-01-02 10:60:00"]
    good = [" 2026-01-02 10:00:00 ", "0999-01-02 23:59:59", "2024-02-29 00:00:00", "2026-01-31 12:00:00"]
    got = _outcomes(warehouse, src, D2, "ua_contacthistory", "ContactDateTime", [*bad, *good])
    assert got == {**{v: R.BAD_VALUE.value for v in bad}, **{v: None for v in good}}
    loaded = _loaded(warehouse, D2, "ua_contacthistory", "ContactDateTime")[:4]
    assert loaded == [dt.datetime(2026, 1, 2, 10), dt.datetime(999, 1, 2, 23, 59, 59), dt.datetime(2024, 2, 29),
                      dt.datetime(2026, 1, 31, 12)], loaded


def test_numbers_must_be_plain_decimal_digits_on_every_engine(warehouse, tmp_path, clean_extract):
    """Engines cast more than plain digits: DuckDB rounds '1.5' to the ID 2 and reads '1e3', '0x10' and
    '1_000'; PostgreSQL 16 reads hexadecimal and underscores; numeric reads 'NaN'; casts skip tabs.
    Every one of those is BAD_VALUE on every engine; surrounding spaces and a sign are allowed."""
    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    bad = ["1.5", "1e3", "0x10", "1_000", "\t1", "\u00a01", "1\u00a0", "--1", "1-", "99999999999999999999"]
    good = [" +2 ", "007", "9223372036854775807"]  # the largest BIGINT: 19 digits
    got = _outcomes(warehouse, src, D2, "ua_contacthistory", "ContactStatusID", [*bad, *good])
    assert got == {**{v: R.BAD_VALUE.value for v in bad}, **{v: None for v in good}}
    assert _loaded(warehouse, D2, "ua_contacthistory", "ContactStatusID")[:3] == [2, 7, 9223372036854775807]

    bad = ["NaN", "Infinity", "1e3", "1_000.50", "0x10", ".5", "5.", "\t5.00", "1.2.3"]  # 9 responses that day
    got = _outcomes(warehouse, src, D2, "ua_responsehistory", "Revenue", bad)
    assert got == {v: R.BAD_VALUE.value for v in bad}
    assert _outcomes(warehouse, src, D2, "ua_responsehistory", "Revenue", [" -12.5 ", "7"]) == {" -12.5 ": None,
                                                                                               "7": None}
    assert [float(v) for v in _loaded(warehouse, D2, "ua_responsehistory", "Revenue")[:2]] == [-12.5, 7.0]

    bad = ["2", "1.0", " 1x"]  # cells change on the first day only
    assert _outcomes(warehouse, src, D1, "ua_cell", "IsControl", bad) == {v: R.BAD_VALUE.value for v in bad}


def test_a_key_of_unicode_spaces_is_a_key_not_blank_on_every_engine(warehouse, tmp_path, clean_extract):
    """Blank means empty or spaces (' '), as in the hashing rule (DuckDB's trim() also strips no-break
    spaces; PostgreSQL's does not): a key of no-break spaces loads on every engine, one of spaces is NULL_KEY."""
    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    got = _outcomes(warehouse, src, D2, "ua_contacthistory", "CustomerID", ["\u00a0", "   "])
    assert got == {"\u00a0": None, "   ": R.NULL_KEY.value}


def _direct_partitions(wh, day: dt.date) -> set[str]:
    """The LDZ tables whose partition for `day` the direct path wrote (its table keeps its CHECK constraint)."""
    return {t.removesuffix(f"_{day:%Y%m%d}") for (t,) in wh.query(
        "select c.relname from pg_constraint k join pg_class c on c.oid = k.conrelid "
        "where k.conname = 'in_partition' and c.relname like %s", [f"%_{day:%Y%m%d}"])}


def test_postgres_direct_path_takes_plain_files_and_leaves_other_forms_to_the_text_path(target_env, tmp_path,
                                                                                        clean_extract):
    """The direct path (COPY of the typed file while Arrow checks it) must take every file of a clean extract,
    or PostgreSQL's ingest silently gets slower; a value in another allowed form (spaces, a sign, a leading
    zero in a key) or a bad one sends its file to the text path, which types it (or rejects it) as DuckDB
    does. A leading zero outside the grain stays direct and loads as the text path types it."""
    from dbt_project.warehouse import Warehouse

    src = tmp_path / "src"
    shutil.copytree(clean_extract, src)
    for day in (D1, D2):
        for c in CONTRACTS.values():
            path = src / day.isoformat() / c.file_name
            if path.exists():
                assert ldz._plain_records(c, path, ldz._header(path)) == manifest_rows(src, day)[c.table], (day, c)
    with Warehouse(target_env("postgres")) as wh:
        assert ingest(wh, src, D1).ok
        assert _direct_partitions(wh, D1) == {c.ldz_table for c in CONTRACTS.values()
                                              if (src / D1.isoformat() / c.file_name).exists()}
        c = CONTRACTS["ua_contacthistory"]
        path = src / D2.isoformat() / c.file_name
        for column, value, direct in [("ContactStatusID", "02", True), ("ContactStatusID", " 2", False),
                                      ("ContactStatusID", "+2", False), ("ContactStatusID", "\t2", False),
                                      ("ContactStatusID", "9" * 19, False), ("CellID", "07", True),
                                      ("ContactDateTime", " 2026-01-02 10:00:00", False),
                                      ("ContactDateTime", "2026-01-02T10:00:00", False),
                                      ("ContactDateTime", "2026-02-30 10:00:00", False),
                                      ("CellID", "", False), ("CustomerID", " ", False),
                                      ("CustomerID", 'C"1', False)]:
            _with_values(src, D2, c.table, column, [value])
            assert (ldz._plain_records(c, path, ldz._header(path)) is not None) is direct, (column, value)
            wh.execute(f"drop table if exists ldz.{c.ldz_table}_{D2:%Y%m%d}")  # the text path reuses a partition
            res = ingest(wh, src, D2)
            assert (c.ldz_table in _direct_partitions(wh, D2)) is direct, (column, value)
            assert next(t for t in res.tables if t.table == c.table).status == "LOADED", (column, value)
        _with_values(src, D2, c.table, "ContactStatusID", ["02"])
        assert ingest(wh, src, D2).ok
        assert _loaded(wh, D2, c.table, "ContactStatusID")[0] == 2


def test_postgres_direct_tables_of_a_killed_ingest_are_dropped_by_the_next(target_env, clean_extract):
    """The direct path's table outlives an ingest killed between staging and commit. The next ingest drops
    it once its session is gone, never the table of a live session (a landing in progress), and leaves none
    of its own."""
    from dbt_project.warehouse import Warehouse

    env = target_env("postgres")
    with Warehouse(env) as wh, Warehouse(env) as other:
        ldz.ensure_schema(wh)
        live = other.scalar("select pg_backend_pid()")
        dead = next(pid for pid in range(4_000_000, 4_100_000)
                    if not wh.scalar("select count(*) from pg_stat_activity where pid = %s", [pid]))
        for pid in (live, dead):
            wh.execute(f"create table ldz.{ldz.DIRECT_PREFIX}customer_{pid} (x int)")
        assert ingest(wh, clean_extract, D1).ok
        left = {t for (t,) in wh.query(f"select tablename from pg_tables where schemaname = 'ldz' "
                                       f"and left(tablename, 6) = '{ldz.DIRECT_PREFIX}'")}
        assert left == {f"{ldz.DIRECT_PREFIX}customer_{live}"}


def test_demo_rows_per_layer_count_each_landed_row_once(engine, target_env, clean_extract):
    """The demo's "Rows per layer": PostgreSQL lists each LDZ partition beside its parent table, and
    counting both showed every landed row twice."""
    from dbt_project.demo import layer_counts
    from dbt_project.warehouse import Warehouse

    target = target_env(engine)
    with Warehouse(target) as wh:
        landed = sum(t.rows_loaded for d in (D1, D2) for t in ingest(wh, clean_extract, d).tables)
    ldz_layer = next(layer for layer in layer_counts(target) if layer[0] == "ldz")
    assert ldz_layer == ("ldz", len(CONTRACTS) + 1, landed)  # the LDZ tables and ldz_rejects
