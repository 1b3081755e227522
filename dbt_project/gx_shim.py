"""The one place Great Expectations is imported and patched (import it lazily: it costs seconds).

GX 1.24.1 runs every metric of a DuckDB batch on a fresh connection; DuckDB then sees a new database
instance per query and each metric fails with `list index out of range`. GX keeps one persisted
connection for the dialects listed in `_PERSISTED_CONNECTION_DIALECTS` (sqlite, mssql, ...): adding
"duckdb" there is the whole shim. It is pinned to the exact GX version it was proven on; on another
version `load()` refuses (ConfigError, exit 2) instead of guessing. tests/test_validate.py fails if the
shim stops working. PostgreSQL needs no shim.
"""

from __future__ import annotations

import logging
import os
import warnings
from types import ModuleType

from .project import ConfigError

GX_VERSION = "1.24.1"


class _Dialect(str):
    """A plain string that also answers `.value`, as GX's GXSqlDialect enum members do."""

    @property
    def value(self) -> str:
        return str(self)


DUCKDB = _Dialect("duckdb")


def apply_duckdb_shim() -> None:
    """Make GX keep one connection per DuckDB execution engine (idempotent)."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    current = tuple(see._PERSISTED_CONNECTION_DIALECTS)
    if "duckdb" not in [getattr(d, "value", d) for d in current]:
        see._PERSISTED_CONNECTION_DIALECTS = (*current, DUCKDB)


def shim_applied() -> bool:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    return "duckdb" in [getattr(d, "value", d) for d in see._PERSISTED_CONNECTION_DIALECTS]


def load() -> ModuleType:
    """Import great_expectations (checked version, DuckDB shim applied, quiet) and return it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    if gx.__version__ != GX_VERSION:
        raise ConfigError(
            f"great_expectations {gx.__version__} is installed; dq validate is pinned to {GX_VERSION} "
            "(its DuckDB shim is proven on that version only). Run `make install`.")
    apply_duckdb_shim()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="great_expectations")  # deprecation/datasource-type advice
    return gx
