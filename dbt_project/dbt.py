"""Running dbt: a pure function builds every argv; one function runs it in-process.

In-process saves the interpreter start and import (~3 s) per invocation; dbt's own partial parsing
(target/partial_parse.msgpack) then makes repeated invocations with the same vars cheap.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from .project import export_env_for_dbt, root
from .reason_codes import ReasonCode


def build_argv(
    command: str,
    *,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    target: str | None = None,
    vars: dict | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The dbt argv for a command run from the repo root (pure: no I/O, easy to test)."""
    argv = [command, "--project-dir", str(root()), "--profiles-dir", str(root())]
    if target:
        argv += ["--target", target]
    if select:
        argv += ["--select", *select]
    if exclude:
        argv += ["--exclude", *exclude]
    if vars:
        import json

        argv += ["--vars", json.dumps(vars, sort_keys=True)]
    argv += list(extra)
    return argv


@dataclass
class DbtOutcome:
    success: bool
    argv: list[str]
    nodes: list[dict] = field(default_factory=list)  # name, resource_type, status, rows, seconds, message
    error: str | None = None

    @property
    def compiled(self) -> str | None:
        """The compiled SQL of the first node (what `compile --inline` produced)."""
        return self.nodes[0]["compiled_code"] if self.nodes else None

    @property
    def failed_nodes(self) -> list[dict]:
        return [n for n in self.nodes if n["status"] in ("error", "fail", "runtime error")]

    @property
    def warned_nodes(self) -> list[dict]:
        return [n for n in self.nodes if n["status"] == "warn"]


def reason_code_for(resource_type: str, status: str, meta: dict) -> str | None:
    """The reason code of a dbt node outcome: a test's own `meta.reason_code` (e.g. NULL_KEY, KEY_MISMATCH),
    CONSTRAINT_VIOLATION for other failing tests, TRANSFORM_ERROR for a model that did not build."""
    if status in ("pass", "success", "skipped", "no-op"):
        return None
    if resource_type == "test":
        return meta.get("reason_code") or ReasonCode.CONSTRAINT_VIOLATION.value
    return ReasonCode.TRANSFORM_ERROR.value


def run(argv: list[str]) -> DbtOutcome:
    """Run dbt in this process. Never hold a DuckDB connection open while this runs. dbt's own console
    lines (progress, and the errors it prints even with --quiet) go to stderr: dq's stdout is its own
    result — a table, or one JSON document with --json."""
    export_env_for_dbt()
    from dbt.cli.main import dbtRunner

    colours = [] if sys.stderr.isatty() else ["--no-use-colors"]  # a log or a pipe: no escape codes in its lines
    with contextlib.redirect_stdout(sys.stderr):
        res = dbtRunner().invoke([*colours, *argv])
    nodes = []
    results = getattr(res.result, "results", None) or []
    for r in results:
        node = getattr(r, "node", None)
        adapter = getattr(r, "adapter_response", None) or {}
        resource_type, status = str(getattr(node, "resource_type", "?")), str(r.status)
        meta = dict(getattr(getattr(node, "config", None), "meta", None) or {})
        nodes.append({
            "name": getattr(node, "name", "?"),
            "unique_id": getattr(node, "unique_id", "?"),
            "resource_type": resource_type,
            "status": status,
            "reason_code": reason_code_for(resource_type, status, meta),
            "failures": getattr(r, "failures", None),
            "compiled_code": getattr(node, "compiled_code", None),
            "rows": adapter.get("rows_affected") if isinstance(adapter, dict) else None,
            "seconds": round(float(getattr(r, "execution_time", 0.0) or 0.0), 3),
            "message": getattr(r, "message", None),
        })
    error = str(res.exception) if res.exception else None
    release_duckdb()
    return DbtOutcome(bool(res.success), argv, nodes, error)


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in-process after a run (a class-level
    environment), so the file is checkpointed and other connections with their own configuration
    (GX's SQLAlchemy engine, a copy of the file) can open it."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()
