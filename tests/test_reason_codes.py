"""The one reason-code enum holds DESIGN.md §7 and only sensible metadata."""

from __future__ import annotations

import re
from pathlib import Path

from dbt_project.reason_codes import ACTIONS, ReasonCode

DESIGN = Path(__file__).resolve().parents[2] / "shared" / "DESIGN.md"
DESIGN_CODES = {
    "MISSING_FILE", "EMPTY_FILE", "BAD_FORMAT", "SCHEMA_MISMATCH", "BAD_VALUE", "NULL_KEY", "DUPLICATE_KEY",
    "CHECKSUM_MISMATCH", "CONNECTIVITY", "LOCK_TIMEOUT", "CONSTRAINT_VIOLATION", "KEY_MISMATCH",
    "MAPPING_MISSING", "TRANSFORM_ERROR", "ZERO_ROWS", "ROW_COUNT_MISMATCH", "ANOMALY", "STALE_SOURCE",
    "ML_SCORE_INVALID", "OPTIONAL_UNAVAILABLE", "SMOKE_FAILED", "OPERATOR_REQUEST",
}


def test_enum_holds_every_design_code():
    assert {c.value for c in ReasonCode} >= DESIGN_CODES
    if DESIGN.exists():  # beside the repo in CI and on developer machines
        section = DESIGN.read_text().split("## 7.")[1].split("## 8.")[0]
        assert set(re.findall(r"\b[A-Z][A-Z_]{3,}\b", section.split("At least:")[1])) <= {c.value for c in ReasonCode}


def test_metadata_is_complete():
    for code in ReasonCode:
        assert code.action in ACTIONS
        assert code.description and code.info.layers
        assert code.severity in ("error", "warning")
    assert {c for c in ReasonCode if c.retriable} == {ReasonCode.CONNECTIVITY, ReasonCode.LOCK_TIMEOUT}
    assert {c for c in ReasonCode if c.severity == "warning"} == {ReasonCode.OPTIONAL_UNAVAILABLE}
