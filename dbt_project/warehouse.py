"""A thin connection to the warehouse of one dbt target (DuckDB or PostgreSQL).

Only what dq itself needs: run SQL, fetch rows, one transaction, and each engine's native bulk path.
dbt does everything else. DuckDB allows a single writer: always close the warehouse before dbt runs
(use it as a context manager).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .project import ConfigError, profile
from .reason_codes import ReasonCode

SUPPORTED = ("duckdb", "postgres")


class ConnectionFailed(RuntimeError):
    """The warehouse cannot be reached (exit code 2, reason CONNECTIVITY)."""

    reason = ReasonCode.CONNECTIVITY


class Warehouse:
    def __init__(self, target: str | None = None):
        self.settings = profile(target)
        self.target = target
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
                raise ConnectionFailed(f"cannot open {path}: {exc}") from exc
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
        return con

    # --- SQL ---------------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence | None = None) -> None:
        if self.engine == "duckdb":
            self.con.execute(sql, params or [])
        else:
            with self.con.cursor() as cur:
                cur.execute(sql, params)

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        if not rows:
            return
        if self.engine == "duckdb":
            self.con.executemany(sql, rows)
        else:
            from psycopg2.extras import execute_batch

            with self.con.cursor() as cur:
                execute_batch(cur, sql, rows)

    def query(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        if self.engine == "duckdb":
            return self.con.execute(sql, params or []).fetchall()
        with self.con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def query_with_columns(self, sql: str, params: Sequence | None = None) -> tuple[list[str], list[tuple]]:
        """The column names and the rows of a query."""
        if self.engine == "duckdb":
            cur = self.con.execute(sql, params or [])
            return [d[0] for d in cur.description], cur.fetchall()
        with self.con.cursor() as cur:
            cur.execute(sql, params)
            return [d[0] for d in cur.description], cur.fetchall()

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
            self.con.autocommit = False
            try:
                yield
            except BaseException:
                self.con.rollback()
                raise
            else:
                self.con.commit()
            finally:
                self.con.autocommit = True

    def copy_csv(self, table: str, columns: Sequence[str], path: Path) -> int:
        """PostgreSQL: stream a CSV file (with header) into a table through COPY."""
        cols = ", ".join(columns)
        with self.con.cursor() as cur, path.open("rb") as fh:
            cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, HEADER true)", fh)
            return cur.rowcount

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(self.scalar(
            "select count(*) from information_schema.tables where table_schema = %s and table_name = %s"
            if self.engine == "postgres" else
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table]))

    @property
    def param(self) -> str:
        """The parameter placeholder of the engine's driver."""
        return "?" if self.engine == "duckdb" else "%s"

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
