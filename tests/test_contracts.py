"""The declared source contract and the dbt sources stay in step."""

from __future__ import annotations

import yaml

from dbt_project.contracts import CONTRACTS
from dbt_project.project import root


def test_ldz_sources_match_the_contract():
    doc = yaml.safe_load((root() / "models" / "ldz" / "_ldz__sources.yml").read_text())
    tables = {t["name"]: t for t in doc["sources"][0]["tables"]}
    assert set(tables) == {c.ldz_table for c in CONTRACTS.values()} | {"ldz_rejects"}
    for c in CONTRACTS.values():
        cols = [col["name"] for col in tables[c.ldz_table]["columns"]]
        assert cols[: len(c.columns)] == [col.db_name for col in c.columns]
        tested = {col["name"] for col in tables[c.ldz_table]["columns"] if "not_null" in col.get("data_tests", [])}
        assert {k.lower() for k in c.keys} <= tested


def test_every_table_has_keys_and_known_types():
    for c in CONTRACTS.values():
        assert c.keys and set(c.keys) <= set(c.column_names)
        assert set(c.change_time) <= set(c.column_names)
        assert {col.type for col in c.columns} <= {"text", "int", "decimal", "date", "timestamp", "flag"}
