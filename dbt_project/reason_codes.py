"""The one enum of reason codes (DESIGN.md §7).

Every failure anywhere in the product (loader, dbt, data quality, alerts, evidence) carries one of these
codes. Each code says whether it is retriable, which layers raise it, the recommended action from the
recovery decision tree, and what it means. ``severity`` separates warnings (the run still succeeds)
from errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ACTIONS = ("retry", "rerun", "replay", "backfill", "restore", "escalate")


@dataclass(frozen=True)
class _Info:
    retriable: bool
    layers: tuple[str, ...]
    action: str
    description: str
    severity: str = "error"


class ReasonCode(StrEnum):
    """Reason codes; ``ReasonCode.X.info`` holds the metadata."""

    MISSING_FILE = "MISSING_FILE"
    EMPTY_FILE = "EMPTY_FILE"
    BAD_FORMAT = "BAD_FORMAT"
    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
    BAD_VALUE = "BAD_VALUE"
    NULL_KEY = "NULL_KEY"
    DUPLICATE_KEY = "DUPLICATE_KEY"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    CONNECTIVITY = "CONNECTIVITY"
    LOCK_TIMEOUT = "LOCK_TIMEOUT"
    CONSTRAINT_VIOLATION = "CONSTRAINT_VIOLATION"
    KEY_MISMATCH = "KEY_MISMATCH"
    MAPPING_MISSING = "MAPPING_MISSING"
    TRANSFORM_ERROR = "TRANSFORM_ERROR"
    ZERO_ROWS = "ZERO_ROWS"
    ROW_COUNT_MISMATCH = "ROW_COUNT_MISMATCH"
    ANOMALY = "ANOMALY"
    STALE_SOURCE = "STALE_SOURCE"
    ML_SCORE_INVALID = "ML_SCORE_INVALID"
    OPTIONAL_UNAVAILABLE = "OPTIONAL_UNAVAILABLE"
    SMOKE_FAILED = "SMOKE_FAILED"
    OPERATOR_REQUEST = "OPERATOR_REQUEST"

    @property
    def info(self) -> _Info:
        return _INFO[self]

    @property
    def retriable(self) -> bool:
        return self.info.retriable

    @property
    def action(self) -> str:
        return self.info.action

    @property
    def description(self) -> str:
        return self.info.description

    @property
    def severity(self) -> str:
        return self.info.severity


_INFO: dict[ReasonCode, _Info] = {
    ReasonCode.MISSING_FILE: _Info(
        False, ("ldz",), "replay",
        "A required source file (or the manifest) is not in the landing folder. Land it, then replay the date."),
    ReasonCode.EMPTY_FILE: _Info(
        False, ("ldz",), "replay",
        "A source file has zero bytes (not even a header). Re-extract it, then replay the date."),
    ReasonCode.BAD_FORMAT: _Info(
        False, ("ldz",), "replay",
        "A file cannot be read as the contract says: wrong delimiter, not UTF-8, or truncated mid-record."),
    ReasonCode.SCHEMA_MISMATCH: _Info(
        False, ("ldz", "ifl", "publish"), "escalate",
        "Columns differ from the contract (missing or unexpected). The source contract changed: escalate."),
    ReasonCode.BAD_VALUE: _Info(
        False, ("ldz",), "escalate",
        "A value does not parse as its contract type; the row is quarantined in ldz.ldz_rejects."),
    ReasonCode.NULL_KEY: _Info(
        False, ("ldz", "rdv"), "escalate",
        "A business key or technical key is NULL or blank; the row is quarantined."),
    ReasonCode.DUPLICATE_KEY: _Info(
        False, ("ldz", "rdv"), "escalate",
        "An exact duplicate row, or one key with one change time and conflicting values; quarantined."),
    ReasonCode.CHECKSUM_MISMATCH: _Info(
        False, ("ldz",), "replay",
        "The file's sha256 differs from the manifest: it changed or was damaged in transit. Re-land, replay."),
    ReasonCode.CONNECTIVITY: _Info(
        True, ("ldz", "rdv", "ifl", "360", "publish", "ml"), "retry",
        "The warehouse or a service could not be reached. Transient: retry with backoff."),
    ReasonCode.LOCK_TIMEOUT: _Info(
        True, ("ldz", "rdv", "ifl", "360", "publish", "ml"), "retry",
        "Another run holds the lock for this target and date. Transient: retry after it finishes."),
    ReasonCode.CONSTRAINT_VIOLATION: _Info(
        False, ("rdv", "publish"), "rerun",
        "A table constraint or dbt contract failed. Fix the cause, then rerun from the failed layer."),
    ReasonCode.KEY_MISMATCH: _Info(
        False, ("rdv",), "rerun",
        "A link or satellite references a key missing from its hub. Rerun the RDV for the date."),
    ReasonCode.MAPPING_MISSING: _Info(
        False, ("ifl",), "escalate",
        "A source code has no entry in the mapping seeds. Add the mapping, then rerun from IFL."),
    ReasonCode.TRANSFORM_ERROR: _Info(
        False, ("rdv", "ifl", "360", "publish"), "escalate",
        "A model failed to build (SQL or logic error). Escalate to the engineering team."),
    ReasonCode.ZERO_ROWS: _Info(
        False, ("ldz", "rdv", "360", "publish"), "rerun",
        "A table received no rows for the business date where rows were expected."),
    ReasonCode.ROW_COUNT_MISMATCH: _Info(
        False, ("ldz", "rdv", "360"), "rerun",
        "Row counts do not reconcile: two layers for the date (rerun from the lower layer), or a file's records "
        "against its manifest (the table fails whole: re-land, then replay)."),
    ReasonCode.ANOMALY: _Info(
        False, ("360", "publish"), "escalate",
        "A metric is outside its expected band (row count vs trailing median, negative revenue, rate > 1)."),
    ReasonCode.STALE_SOURCE: _Info(
        False, ("ldz", "ml"), "backfill",
        "A source (or the ML scores) is older than its freshness SLA. Once it arrives, backfill the gap."),
    ReasonCode.ML_SCORE_INVALID: _Info(
        False, ("ml",), "escalate",
        "An ML write-back row is invalid (unknown customer, score outside [0,1], duplicate, no version)."),
    ReasonCode.OPTIONAL_UNAVAILABLE: _Info(
        False, ("ldz",), "replay",
        "An optional table is absent for the date. A warning: the run continues with yesterday's reference.",
        severity="warning"),
    ReasonCode.SMOKE_FAILED: _Info(
        False, ("release",), "restore",
        "The post-deploy smoke test failed. Roll back to the previous release."),
    ReasonCode.OPERATOR_REQUEST: _Info(
        False, ("ldz", "rdv", "ifl", "360", "publish", "ml"), "rerun",
        "An operator asked for this rerun or backfill (no failure)."),
}


def as_rows() -> list[dict[str, object]]:
    """The enum as plain rows (for `dq reason-codes` and documentation)."""
    return [
        {
            "code": code.value,
            "retriable": code.retriable,
            "severity": code.severity,
            "action": code.action,
            "layers": ",".join(code.info.layers),
            "description": code.description,
        }
        for code in ReasonCode
    ]
