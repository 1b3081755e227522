"""The dbt project builds from the repo root on DuckDB and PostgreSQL, and its tests can fail."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from dbt_project import dbt
from dbt_project.ldz import ingest
from dbt_project.load_window import set_window
from dbt_project.project import root
from dbt_project.warehouse import Warehouse

DBT = str(Path(sys.executable).parent / "dbt")


def test_build_argv_is_pure_and_complete():
    argv = dbt.build_argv("build", select=["rdv", "tag:meta"], target="postgres", vars={"b": 1, "a": "x"},
                          extra=["--fail-fast"])
    assert argv == ["build", "--project-dir", str(root()), "--profiles-dir", str(root()), "--target", "postgres",
                    "--select", "rdv", "tag:meta", "--vars", '{"a": "x", "b": 1}', "--fail-fast"]
    assert dbt.build_argv("parse") == ["parse", "--project-dir", str(root()), "--profiles-dir", str(root())]


def _land(target: str, src: Path) -> None:
    """Land two dates and open the load window over both (what `dq build --from --to` does before dbt)."""
    days = (dt.date(2026, 1, 1), dt.date(2026, 1, 2))
    with Warehouse(target) as wh:
        for day in days:
            ingest(wh, src, day)
        set_window(wh, *days)


def test_dbt_build_select_a_folder_from_the_root_with_no_flags(target_env, clean_extract):
    target_env("duckdb")  # DQ_DUCKDB_PATH -> a fresh file; `dev` is the default target
    _land("dev", clean_extract)
    env = {**os.environ, "DQ_DUCKDB_PATH": os.environ["DQ_DUCKDB_PATH"]}
    out = subprocess.run([DBT, "build", "--select", "meta"], cwd=root(), env=env, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "Completed successfully" in out.stdout


def test_dbt_build_passes_then_fails_when_the_data_is_wrong(target, clean_extract):
    _land(target, clean_extract)
    outcome = dbt.run(dbt.build_argv("build", target=target, extra=["--quiet"]))
    assert outcome.success, outcome.failed_nodes
    names = {n["name"] for n in outcome.nodes}
    assert "ldz_load_summary" in names
    assert any(n["resource_type"] == "test" for n in outcome.nodes)
    with Warehouse(target) as wh:
        wh.execute("update meta.ldz_files set status = 'BOGUS' where table_name = 'customer'")
    broken = dbt.run(dbt.build_argv("build", target=target, select=["meta"], extra=["--quiet"]))
    assert not broken.success
    assert any("accepted_values" in n["name"] for n in broken.failed_nodes)
