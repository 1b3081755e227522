"""Build the dbt layers for a range of business dates in ONE dbt invocation (one parse for the range)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from . import dbt
from .load_window import set_window
from .project import default_target, profile
from .registry import BuildLock
from .warehouse import Warehouse


def build(target: str | None, from_date: dt.date, to_date: dt.date, select: Sequence[str] = (),
          full_refresh: bool = False, command: str = "build",
          progress: Callable[[str], None] | None = None) -> dbt.DbtOutcome:
    """Set the load window to [from_date, to_date], then `dbt build` (or `run`: models only) once.

    Holds the target's build lock meanwhile (registry.BuildLock: another build waits, up to
    DQ_BUILD_WAIT_SECONDS, then LockTimeout). The warehouse connection is closed before dbt starts (DuckDB
    allows one writer)."""
    target = target or default_target()
    lock = BuildLock(target, profile(target)["type"])
    lock.acquire(progress=progress)
    try:
        with Warehouse(target) as wh:
            from .ldz import ensure_schema

            ensure_schema(wh)  # LDZ, meta and cdm_ingest (the ML write-back dbt reads as a source)
            set_window(wh, from_date, to_date)
        extra = ["--quiet"] + (["--full-refresh"] if full_refresh else [])
        return dbt.run(dbt.build_argv(command, select=select, target=target, extra=extra))
    finally:
        lock.release()
