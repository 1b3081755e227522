"""`dq bench` (LDZ ingest vs bare bulk load) at a tiny size: every side loads every record of the date on
both engines, and `--record` replaces only its own section of docs/benchmarks.md. Timings are not
asserted (speed is measured by `make bench`, not by tests)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from dbt_project import bench


@pytest.fixture(scope="module")
def result(tmp_path_factory, pg_cluster):
    with pytest.MonkeyPatch.context() as mp:  # the benchmark's PostgreSQL side uses the suite's server
        for k, v in pg_cluster.env.items():
            mp.setenv(k, v)
        return bench.run(customers=60, days_to_time=2, engines=("duckdb", "postgres"), repeat=2,
                         data_dir=tmp_path_factory.mktemp("bench"))


def test_every_side_loads_every_record_of_the_date_on_each_engine(result):
    extract = Path(result["extract"])
    assert [(r["engine"], r["date"]) for r in result["results"]] == [
        (e, d) for e in ("duckdb", "postgres") for d in ("2026-01-01", "2026-01-02")]
    for r in result["results"]:
        manifest = json.loads((extract / r["date"] / "_manifest.json").read_text())
        assert r["rows"] == sum(f["rows"] for f in manifest["files"]), r
        assert set(r["runs"]) == {"bare", "floor", "ingest"} and all(len(v) == 2 for v in r["runs"].values())
        assert r["floor_s"] == round(min(r["runs"]["floor"]), 3)
        assert r["ok"] == (r["ratio"] <= bench.TARGET_RATIO)


def test_record_replaces_only_its_own_section(result, tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## LDZ ingest vs bare bulk load\n\nold table\n\n## Other\n\nkept\n")
    bench.record(result, doc)
    text = doc.read_text()
    assert "old table" not in text and text.endswith("## Other\n\nkept\n")
    header = "| " + " | ".join(bench.COLUMNS) + " |"
    assert header in text and "floor ÷ bare" in header
    lines = text.splitlines()
    rows = lines[lines.index(header) + 2:lines.index(header) + 2 + len(result["results"])]
    assert [line.split(" | ")[:2] for line in rows] == [
        [f"| {r['engine']}", r["date"]] for r in result["results"]]
    assert dt.datetime.fromisoformat(result["measured_at"])
