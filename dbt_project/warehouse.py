"""A thin connection to the warehouse of one dbt target (DuckDB, PostgreSQL or Snowflake).

Only what dq itself needs: run SQL, fetch rows, one transaction, and each engine's native bulk path.
dbt does everything else. DuckDB allows a single writer: always close the warehouse before dbt runs
(use it as a context manager).

Snowflake goes through snowflake-connector-python with the `snowflake` profile's settings (credentials
from the environment only). The test suite runs it on the fakesnow emulator in-process
(`fakesnow.patch()` replaces `snowflake.connector.connect`, which this module calls through its module
for that reason). Snowflake folds unquoted identifiers to upper case: column names of query results are
returned in lower case, like the other engines, and `table_exists` compares case-insensitively.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .project import ConfigError, default_target, profile
from .reason_codes import ReasonCode

SUPPORTED = ("duckdb", "postgres", "snowflake")
PYFORMAT = ("postgres", "snowflake")  # drivers whose placeholder is %s


class ConnectionFailed(RuntimeError):
    """The warehouse cannot be reached (exit code 2, reason CONNECTIVITY)."""

    reason = ReasonCode.CONNECTIVITY


class WarehouseBusy(ConnectionFailed):
    """DuckDB: another process has the warehouse file open (exit code 2, reason LOCK_TIMEOUT)."""

    reason = ReasonCode.LOCK_TIMEOUT


class Warehouse:
    def __init__(self, target: str | None = None):
        self.settings = profile(target)
        self.target = target or default_target()
        self.engine = self.settings["type"]
        if self.engine not in SUPPORTED:
            raise ConfigError(
                f"dq talks to {', '.join(SUPPORTED)} directly; target {target!r} is {self.engine} "
                "(dbt runs against it, the LDZ loader does not yet)")
        self.con = self._connect()

    def _connect(self):
        if self.engine == "duckdb":
            import duckdb

            path = Path(self.settings["path"])
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return duckdb.connect(str(path))
            except duckdb.IOException as exc:  # another writer holds the file
                if "lock" not in str(exc).lower():
                    raise ConnectionFailed(f"cannot open {path}: {exc}") from exc
                pid = re.search(r"\(PID (\d+)\)", str(exc))
                raise WarehouseBusy(
                    f"the DuckDB warehouse {path} is in use by another process"
                    + (f" (pid {pid.group(1)})" if pid else "") + ": DuckDB lets one process open the file at a "
                    "time, so while a run, build or dbt command works on it, no other command (dq runs and dq plan "
                    f"included) can open it. Retry when that one has finished. DuckDB said: {exc}") from exc
        if self.engine == "snowflake":
            return self._connect_snowflake()
        import psycopg2

        s = self.settings
        try:
            con = psycopg2.connect(host=s["host"], port=int(s["port"]), user=s["user"],
                                   password=s.get("password") or None, dbname=s["dbname"],
                                   connect_timeout=10)
        except psycopg2.OperationalError as exc:
            raise ConnectionFailed(
                f"cannot connect to PostgreSQL at {s['host']}:{s['port']}/{s['dbname']} as {s['user']}: "
                f"{str(exc).strip()} (set POSTGRES_HOST/PORT/USER/PASSWORD/DB)") from exc
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("SET temp_buffers = '256MB'")
            # dates print as ISO text whatever the server's default
            cur.execute("SET DateStyle = 'ISO, YMD'")
        return con

    def _connect_snowflake(self):
        import snowflake.connector  # called through the module: fakesnow.patch() replaces connect there

        s = self.settings
        kwargs = {"account": s["account"], "user": s["user"], "password": s.get("password") or None,
                  "role": s.get("role"), "warehouse": s.get("warehouse"), "database": s["database"],
                  "schema": s.get("schema"), "login_timeout": int(s.get("connect_timeout") or 30),
                  "client_session_keep_alive": False}
        if s.get("host"):  # an explicit endpoint (e.g. an emulator server); else derived from the account
            kwargs |= {"host": s["host"], "port": int(s.get("port") or 443), "protocol": s.get("protocol") or "https"}
        try:
            con = snowflake.connector.connect(**{k: v for k, v in kwargs.items() if v is not None})
        except snowflake.connector.errors.Error as exc:
            raise ConnectionFailed(
                f"cannot connect to Snowflake account {s['account']!r} as {s['user']!r} (database "
                f"{s['database']}): {str(exc).strip()} (set SNOWFLAKE_ACCOUNT/USER/PASSWORD/ROLE/WAREHOUSE/"
                "DATABASE)") from exc
        con.autocommit(True)
        return con

    # --- SQL ---------------------------------------------------------------------------------------
    def _cursor(self):
        """A DB-API cursor that closes on leaving the with block (PostgreSQL, Snowflake)."""
        return contextlib.closing(self.con.cursor()) if self.engine == "snowflake" else self.con.cursor()

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        if self.engine == "duckdb":
            self.con.execute(sql, params or [])
        else:
            with self._cursor() as cur:
                cur.execute(sql, params)

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        if not rows:
            return
        if self.engine == "duckdb":
            self.con.executemany(sql, rows)
        elif self.engine == "snowflake":  # the connector binds a multi-row INSERT as one statement
            with self._cursor() as cur:
                cur.executemany(sql, rows)
        else:
            from psycopg2.extras import execute_batch

            with self.con.cursor() as cur:
                execute_batch(cur, sql, rows)

    def query(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        if self.engine == "duckdb":
            return self.con.execute(sql, params or []).fetchall()
        with self._cursor() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]

    def query_with_columns(self, sql: str, params: Sequence | None = None) -> tuple[list[str], list[tuple]]:
        """The column names and the rows of a query."""
        if self.engine == "duckdb":
            cur = self.con.execute(sql, params or [])
            return [d[0] for d in cur.description], cur.fetchall()
        with self._cursor() as cur:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description]
            if self.engine == "snowflake":  # unquoted identifiers come back upper-cased
                names = [n.lower() if n.isupper() else n for n in names]
            return names, [tuple(r) for r in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence | None = None):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: everything inside commits together or not at all."""
        if self.engine == "duckdb":
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")
        else:
            self._autocommit(False)
            try:
                yield
            except BaseException:
                self.con.rollback()
                raise
            else:
                self.con.commit()
            finally:
                self._autocommit(True)

    def _autocommit(self, on: bool) -> None:
        if self.engine == "snowflake":
            self.con.autocommit(on)
        else:
            self.con.autocommit = on

    def copy_csv(self, table: str, columns: Sequence[str], path: Path, force_null: bool = False) -> int:
        """PostgreSQL: stream a CSV file (with header) into a table through COPY. `force_null`: a quoted
        empty value is NULL too (else only an unquoted one is)."""
        cols = ", ".join(columns)
        options = f", FORCE_NULL ({cols})" if force_null else ""
        with self.con.cursor() as cur, path.open("rb") as fh:
            cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, HEADER true{options})", fh)
            return cur.rowcount

    def table_exists(self, schema: str, table: str) -> bool:
        if self.engine == "snowflake":  # names are stored upper-cased (unquoted identifiers); views are in
            # information_schema.tables on Snowflake, only in information_schema.views on its emulator
            return bool(self.scalar(
                "select count(*) from (select table_name from information_schema.tables where table_schema = "
                "upper(%s) and table_name = upper(%s) union all select table_name from information_schema.views "
                "where table_schema = upper(%s) and table_name = upper(%s)) as found", [schema, table] * 2))
        return bool(self.scalar(
            "select count(*) from information_schema.tables where table_schema = %s and table_name = %s"
            if self.engine == "postgres" else
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table]))

    def column_exists(self, schema: str, table: str, column: str) -> bool:
        fold = "upper" if self.engine == "snowflake" else ""  # Snowflake stores unquoted names upper-cased
        p = self.param
        return bool(self.scalar(
            f"select count(*) from information_schema.columns where table_schema = {fold}({p}) and table_name = "
            f"{fold}({p}) and column_name = {fold}({p})", [schema, table, column]))

    @property
    def param(self) -> str:
        """The parameter placeholder of the engine's driver."""
        return "%s" if self.engine in PYFORMAT else "?"

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
