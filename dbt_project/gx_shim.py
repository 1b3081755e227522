"""The one place Great Expectations is imported and patched (import it lazily: it costs seconds).

GX 1.24.1 runs every metric of a DuckDB batch on a fresh connection; DuckDB then sees a new database
instance per query and each metric fails with `list index out of range`. GX keeps one persisted
connection for the dialects listed in `_PERSISTED_CONNECTION_DIALECTS` (sqlite, mssql, ...): adding
"duckdb" there is the shim's first half. Its second half: on that one connection a failing query (a
dropped column, say) left DuckDB's transaction aborted, and every later check of the run then errored
with "Current transaction is aborted"; the shim rolls the connection back after a failed query, as GX
itself does only for SQLAlchemy's PendingRollbackError. It is pinned to the exact GX version it was
proven on; on another version `load()` refuses (ConfigError, exit 2) instead of guessing.
tests/test_validate.py fails if either half stops working. PostgreSQL needs no shim.
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
    """Make GX keep one connection per DuckDB execution engine, rolled back after a failed query
    (idempotent)."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    current = tuple(see._PERSISTED_CONNECTION_DIALECTS)
    if "duckdb" not in [getattr(d, "value", d) for d in current]:
        see._PERSISTED_CONNECTION_DIALECTS = (*current, DUCKDB)
    engine_cls = see.SqlAlchemyExecutionEngine
    if not getattr(engine_cls._execute_query_with_recovery, "_cdm_rolls_back", False):
        engine_cls._execute_query_with_recovery = staticmethod(_rolling_back(engine_cls._execute_query_with_recovery))


def _rolling_back(execute):
    """GX's query execution, and on a DuckDB connection a rollback when the query failed, so the persisted
    connection is usable by the next check."""

    def run(connection, query):
        try:
            return execute(connection, query)
        except Exception:
            if connection.dialect.name == "duckdb" and not connection.closed:
                connection.rollback()
            raise

    run._cdm_rolls_back = True
    return run


def shim_applied() -> bool:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    return ("duckdb" in [getattr(d, "value", d) for d in see._PERSISTED_CONNECTION_DIALECTS]
            and getattr(see.SqlAlchemyExecutionEngine._execute_query_with_recovery, "_cdm_rolls_back", False))


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
