"""The generator writes DESIGN.md §3 exactly, deterministically, and damages it on request."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbt_project.cli import main
from dbt_project.contracts import CONTRACTS, SHAPE
from dbt_project.generator import INJECTION_KINDS, GeneratorError, generate, sha256_file


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_same_arguments_give_byte_identical_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, customers=300, days=3, seed=1)
    generate(b, customers=300, days=3, seed=1)
    assert _digest(a) == _digest(b)
    assert len(_digest(a)) == 3 * (len(CONTRACTS) + 1)


def test_another_seed_gives_another_extract(tmp_path):
    generate(tmp_path / "a", customers=300, days=1, seed=1)
    generate(tmp_path / "b", customers=300, days=1, seed=2)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "b")


def test_cli_generate_twice_gives_identical_sha256(tmp_path):
    runner = CliRunner()
    for out in ("x", "y"):
        res = runner.invoke(main, ["generate", "--customers", "200", "--days", "2", "--seed", "9",
                                   "--out", str(tmp_path / out), "--json"])
        assert res.exit_code == 0, res.output
    mx = json.loads((tmp_path / "x" / "2026-01-02" / "_manifest.json").read_text())
    my = json.loads((tmp_path / "y" / "2026-01-02" / "_manifest.json").read_text())
    assert mx == my
    assert _digest(tmp_path / "x") == _digest(tmp_path / "y")


def test_layout_and_manifest_follow_the_contract(clean_extract):
    dates = sorted(p.name for p in clean_extract.iterdir() if p.is_dir())
    assert dates == ["2026-01-01", "2026-01-02", "2026-01-03"]
    for d in dates:
        manifest = json.loads((clean_extract / d / "_manifest.json").read_text())
        assert manifest["business_date"] == d
        assert {f["table"] for f in manifest["files"]} == set(CONTRACTS)
        for f in manifest["files"]:
            path = clean_extract / d / f["file"]
            assert f["sha256"] == sha256_file(path)
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
            assert rows[0] == CONTRACTS[f["table"]].column_names
            assert len(rows) - 1 == f["rows"]
            assert path.read_bytes().endswith(b"\n")


def test_first_day_has_everyone_and_later_days_only_changes(clean_extract):
    day1 = _rows(clean_extract / "2026-01-01" / "customer.csv")
    day2 = _rows(clean_extract / "2026-01-02" / "customer.csv")
    assert len(day1) == 400
    assert 0 < len(day2) < 40
    assert {r["UpdateDate"] for r in day2} == {"2026-01-02"}
    assert {r["CustomerID"] for r in day2} <= {r["CustomerID"] for r in day1}


def test_values_have_the_contract_shapes(clean_extract):
    for d in ("2026-01-01", "2026-01-03"):
        for table, c in CONTRACTS.items():
            for row in _rows(clean_extract / d / c.file_name):
                for col in c.columns:
                    v = row[col.name]
                    if v == "":
                        assert col.name not in c.keys, (table, col.name)
                        continue
                    if col.type in SHAPE:  # what every engine's ingest accepts (ldz.py)
                        assert re.fullmatch(SHAPE[col.type], v), (table, col.name, v)
                    if col.type == "int":
                        int(v)
                    elif col.type == "flag":
                        assert v in ("0", "1")
                    elif col.type == "decimal":
                        assert float(v) >= 0
                    elif col.type == "date":
                        dt.date.fromisoformat(v)
                    elif col.type == "timestamp":
                        assert len(v) == 19
                        dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S")


def test_contact_grain_is_unique_and_responses_follow_earlier_treatments(clean_extract):
    treatments = set()
    for d in ("2026-01-01", "2026-01-02", "2026-01-03"):
        contacts = _rows(clean_extract / d / "ua_contacthistory.csv")
        keys = [(r["CustomerID"], r["CellID"], r["PackageID"]) for r in contacts]
        assert len(keys) == len(set(keys)) > 0
        responses = _rows(clean_extract / d / "ua_responsehistory.csv")
        assert {r["TreatmentInstID"] for r in responses} <= treatments  # responses come after the contact
        treatments |= {r["TreatmentInstID"] for r in _rows(clean_extract / d / "ua_treatment.csv")}
    assert responses, "a few percent of contacts respond within a week"


def test_runs_include_failed_test_and_control_cells(tmp_path):
    generate(tmp_path, customers=200, days=10, seed=3)
    runs = [r for d in sorted(tmp_path.iterdir()) for r in _rows(d / "ua_ccrunlog.csv")]
    assert {"Production", "Test"} <= {r["RunType"] for r in runs}
    assert {"Succeeded", "Failed"} <= {r["RunStatus"] for r in runs}
    cells = _rows(tmp_path / "2026-01-01" / "ua_cell.csv")
    assert {"0", "1"} == {c["IsControl"] for c in cells}


@pytest.mark.parametrize("kind", INJECTION_KINDS)
def test_each_injection_is_reported(extract_factory, kind):
    days = 3 if kind == "restated_responses" else 2  # day 1 has no responses yet to send again
    out = extract_factory(kind, days=days)
    report = json.loads((out / "_injections.json").read_text())
    assert [r["kind"] for r in report] == [kind]
    assert report[0]["date"] == f"2026-01-0{days}"


def test_restated_responses_are_the_previous_dates_responses_sent_again_corrected(extract_factory):
    out = extract_factory("restated_responses", days=3)
    report = json.loads((out / "_injections.json").read_text())[0]
    assert (report["table"], report["from_date"]) == ("ua_responsehistory", "2026-01-02")
    sent = _rows(out / "2026-01-03" / "ua_responsehistory.csv")[report["first_row"] - 1:]
    assert len(sent) == report["restated_rows"] >= 3
    key = ("CustomerID", "TreatmentInstID", "ResponsePackID", "ResponseDateTime")
    before = {tuple(r[k] for k in key): r for r in _rows(out / "2026-01-02" / "ua_responsehistory.csv")}
    for r in sent:
        old = before[tuple(r[k] for k in key)]
        assert (r["ResponseTypeID"], r["Revenue"]) == ("3", f"{float(old['Revenue']) + 10:.2f}")
        assert [r[k] for k in r if k not in ("ResponseTypeID", "Revenue")] == [
            old[k] for k in r if k not in ("ResponseTypeID", "Revenue")]


def test_restated_kinds_need_a_previous_date_with_rows_and_their_own_table(tmp_path):
    with pytest.raises(GeneratorError, match="2026-01-01 has no responses to send again"):
        generate(tmp_path / "a", customers=50, days=2, seed=1, inject=["restated_responses"])
    with pytest.raises(GeneratorError, match="needs the previous date"):
        generate(tmp_path / "b", customers=50, days=1, seed=1, inject=["restated_contacts"])
    with pytest.raises(GeneratorError, match="applies to ua_contacthistory only"):
        generate(tmp_path / "c", customers=50, days=2, seed=1, inject=["restated_contacts:customer"])


def test_row_injections_touch_the_reported_rows(extract_factory):
    out = extract_factory("null_key")
    report = json.loads((out / "_injections.json").read_text())[0]
    rows = _rows(out / "2026-01-02" / "customer.csv")
    assert report["rows"] and all(rows[i - 1]["CustomerID"].strip() == "" for i in report["rows"])


def test_unknown_injection_is_a_usage_error(tmp_path):
    with pytest.raises(GeneratorError, match="unknown injection kind"):
        generate(tmp_path, customers=10, days=1, seed=1, inject=["nope"])
    res = CliRunner().invoke(main, ["generate", "--out", str(tmp_path), "--customers", "10", "--days", "1",
                                    "--inject", "nope"])
    assert res.exit_code == 2
