"""Parquet input (DESIGN.md §3: "Parquet with the same columns accepted"): a Parquet file lands the rows
its CSV twin lands, its bad rows are quarantined with the same reason codes, and its whole-file problems
fail only its table — on DuckDB, PostgreSQL and Snowflake's emulator (the `engine` fixture)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dbt_project.contracts import CONTRACTS, DATE, DECIMAL, FLAG, INT, TIMESTAMP
from dbt_project.ldz import ingest
from dbt_project.reason_codes import ReasonCode as R

D1, D2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
ARROW = {INT: pa.int64(), DECIMAL: pa.decimal128(18, 2), DATE: pa.date32(), TIMESTAMP: pa.timestamp("s"),
         FLAG: pa.bool_()}


@pytest.fixture(params=["duckdb", "postgres", "snowflake"])
def engine(request) -> str:
    return request.param


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parquet_extract(src: Path, day: dt.date, dst: Path, typed: bool = True) -> Path:
    """`src`'s folder for `day` with every CSV re-written as Parquet (typed per the contract, or every
    column as text) and the manifest updated; returns the extract root `dst`."""
    folder = dst / day.isoformat()
    shutil.copytree(src / day.isoformat(), folder)
    manifest = json.loads((folder / "_manifest.json").read_text())
    for entry in manifest["files"]:
        csv_path = folder / entry["file"]
        contract = CONTRACTS[entry["table"]]
        table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(
            column_types={c.name: pa.string() for c in contract.columns}, strings_can_be_null=True))
        if typed:
            table = pa.table({name: pc.cast(table[name], ARROW[contract.column(name).type])
                              if contract.column(name).type in ARROW else table[name] for name in table.column_names})
        out = csv_path.with_suffix(".parquet")
        pq.write_table(table, out)
        csv_path.unlink()
        entry["file"], entry["sha256"] = out.name, _sha256(out)
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    return dst


def ldz_rows(wh, day: dt.date) -> dict[str, list[tuple]]:
    """Every LDZ table's rows for the date, without the columns that name the load or the file."""
    out = {}
    for c in CONTRACTS.values():
        cols = ", ".join(col.db_name for col in c.columns)
        rows = wh.query(f"select {cols}, _row_number from ldz.{c.ldz_table} where _business_date = {wh.param}", [day])
        out[c.table] = sorted((tuple(str(v) for v in r) for r in rows), key=repr)
    return out


def quarantined(wh, day: dt.date) -> list[tuple]:
    return wh.query("select table_name, row_number, reason_code, raw_line from ldz.ldz_rejects "
                    f"where business_date = {wh.param} order by table_name, row_number", [day])


def test_a_typed_parquet_extract_lands_the_rows_its_csv_lands(warehouse, clean_extract, tmp_path):
    assert ingest(warehouse, clean_extract, D1).ok
    from_csv = ldz_rows(warehouse, D1)
    src = parquet_extract(clean_extract, D1, tmp_path / "pq")
    res = ingest(warehouse, src, D1)  # replaces the date
    assert res.ok, [(t.table, t.reason_code, t.message) for t in res.tables]
    assert ldz_rows(warehouse, D1) == from_csv
    assert sum(len(rows) for rows in from_csv.values()) > 1000
    manifest = {f["table"]: f for f in json.loads((src / "2026-01-01" / "_manifest.json").read_text())["files"]}
    stored = warehouse.query("select table_name, file_name, sha256 from meta.ldz_files "
                             f"where load_id = {warehouse.param}", [res.load_id])
    assert {(t, f, s) for t, f, s in stored} == {(t, m["file"], m["sha256"]) for t, m in manifest.items()}
    assert {r[0] for r in warehouse.query("select distinct _source_file from ldz.ldz_customer")} == {"customer.parquet"}


def test_bad_rows_of_a_parquet_file_are_quarantined_like_its_csv(warehouse, extract_factory, tmp_path):
    src = extract_factory("bad_date", "bad_number", "null_key", "duplicate_rows")
    assert not ingest(warehouse, src, D2).ok
    csv_rejects, csv_rows = quarantined(warehouse, D2), ldz_rows(warehouse, D2)
    assert {r[2] for r in csv_rejects} == {R.BAD_VALUE.value, R.NULL_KEY.value, R.DUPLICATE_KEY.value}
    res = ingest(warehouse, parquet_extract(src, D2, tmp_path / "pq", typed=False), D2)
    assert not res.failed  # row problems never fail a table
    assert quarantined(warehouse, D2) == csv_rejects  # same rows, reasons and raw lines
    assert ldz_rows(warehouse, D2) == csv_rows


def _damage(kind: str, path: Path) -> bool:
    """Damage a Parquet file; True when the manifest is to describe the damaged file (a producer's bug)
    rather than the original (a file changed in transit)."""
    if kind == "empty_file":
        path.write_bytes(b"")
        return True
    if kind == "truncated_file":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return True
    if kind == "checksum_mismatch":
        pq.write_table(pq.read_table(path).slice(1), path)
        return False
    table = pq.read_table(path)
    if kind == "missing_column":
        table = table.drop_columns([table.column_names[-1]])
    else:  # nested_column: a list where the contract has a scalar
        table = table.set_column(1, table.column_names[1], pa.array([[v] for v in table[1].to_pylist()]))
    pq.write_table(table, path)
    return True


@pytest.mark.parametrize("kind, reason", [("empty_file", R.EMPTY_FILE), ("truncated_file", R.BAD_FORMAT),
                                          ("checksum_mismatch", R.CHECKSUM_MISMATCH),
                                          ("missing_column", R.SCHEMA_MISMATCH), ("nested_column", R.SCHEMA_MISMATCH)])
def test_a_whole_file_problem_fails_only_that_parquet_table(warehouse, clean_extract, tmp_path, kind, reason):
    src = parquet_extract(clean_extract, D1, tmp_path / "pq")
    folder = src / "2026-01-01"
    manifest = json.loads((folder / "_manifest.json").read_text())
    entry = next(f for f in manifest["files"] if f["table"] == "ua_cell")
    if _damage(kind, folder / entry["file"]):
        entry["sha256"] = _sha256(folder / entry["file"])
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    res = ingest(warehouse, src, D1)
    by_table = {t.table: t for t in res.tables}
    assert (by_table["ua_cell"].status, by_table["ua_cell"].reason_code) == ("FAILED", reason.value), \
        by_table["ua_cell"].message
    assert "ua_cell.parquet" in by_table["ua_cell"].message
    assert all(t.status == "LOADED" for name, t in by_table.items() if name != "ua_cell")
    assert warehouse.scalar(f"select count(*) from ldz.ldz_ua_cell where _business_date = {warehouse.param}",
                            [D1]) == 0


def test_a_timestamp_with_a_fraction_of_a_second_is_a_bad_value_not_rounded(warehouse, clean_extract, tmp_path):
    src = parquet_extract(clean_extract, D1, tmp_path / "pq")
    folder = src / "2026-01-01"
    manifest = json.loads((folder / "_manifest.json").read_text())
    entry = next(f for f in manifest["files"] if f["table"] == "ua_ccrunlog")
    table = pq.read_table(folder / entry["file"])
    starts = table["RunStartTime"].cast(pa.timestamp("ms")).to_pylist()
    starts[0] += dt.timedelta(milliseconds=250)
    table = table.set_column(table.column_names.index("RunStartTime"), "RunStartTime",
                             pa.array(starts, pa.timestamp("ms")))
    pq.write_table(table, folder / entry["file"])
    entry["sha256"] = _sha256(folder / entry["file"])
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    res = ingest(warehouse, src, D1)
    runs = next(t for t in res.tables if t.table == "ua_ccrunlog")
    assert (runs.status, runs.rejects_by_reason) == ("LOADED", {R.BAD_VALUE.value: 1})
    (row,) = [r for r in quarantined(warehouse, D1) if r[0] == "ua_ccrunlog"]
    assert row[1] == 1 and ".250" in row[3]
    assert runs.rows_loaded == table.num_rows - 1
