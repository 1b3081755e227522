"""LDZ ingestion: one business date of the Marketing Data Mart extract into `ldz.ldz_<table>`.

Order of work for a date (all in ONE transaction, so a re-ingest replaces the date atomically):
1. the manifest is read; a missing or unreadable manifest fails the whole date;
2. each file is checked whole (exists, not zero bytes, UTF-8, comma-delimited header with exactly the
   contract's columns, checksum, complete) — a failing file fails its table with a reason code and
   loads nothing of it, leaving what that table held for the date untouched;
3. a good file is bulk-loaded as text into a temporary table (DuckDB's native CSV reader, PostgreSQL
   COPY, Snowflake `write_pandas` — a PUT to a temporary stage and COPY INTO), then typed and classified
   set-based: NULL_KEY, BAD_VALUE (a value without its SHAPE, or that does not parse), DUPLICATE_KEY
   rows go to `ldz.ldz_rejects` with the record re-serialised as a CSV line; every other row loads.
   PostgreSQL first tries a direct path: COPY writes the typed file, with its lineage columns, into a
   new table shaped as the date's partition, while Arrow's CSV reader checks in a thread that the text
   path would load every record unchanged (_plain_records); kept only then (else the text path
   classifies as above, with plain casts where a shaped value cannot fail and meta.try_* elsewhere);
4. the date's partition of each loaded table is replaced (PostgreSQL: by the direct path's table,
   attached in its place), and every file's fingerprint is logged in `meta.ldz_files`.

A Parquet file (DESIGN §3) gets its own whole-file checks, then its rows are rendered as the CSV
contract's text into a temporary CSV that takes step 3 like a delivered CSV (_parquet_as_csv).

Checking a file and bulk-loading it overlap: the checksum/UTF-8 pass runs in a thread while the engine
reads the file, and the load is undone when a check fails, so the outcome is that of checking first.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import tempfile
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .contracts import CONTRACTS, DATE, DECIMAL, FLAG, INT, SHAPE, TEXT, TIMESTAMP, Column, TableContract
from .load_window import set_window
from .reason_codes import ReasonCode
from .registry import BuildLock
from .warehouse import Warehouse

SQL_TYPES = {
    "duckdb": {TEXT: "VARCHAR", INT: "BIGINT", DECIMAL: "DECIMAL(18,2)", DATE: "DATE",
               TIMESTAMP: "TIMESTAMP", FLAG: "INTEGER"},
    "postgres": {TEXT: "TEXT", INT: "BIGINT", DECIMAL: "NUMERIC(18,2)", DATE: "DATE",
                 TIMESTAMP: "TIMESTAMP", FLAG: "INTEGER"},
    "snowflake": {TEXT: "VARCHAR", INT: "BIGINT", DECIMAL: "NUMBER(18,2)", DATE: "DATE",
                  TIMESTAMP: "TIMESTAMP_NTZ", FLAG: "INTEGER"},
}
# Every engine's cast reads more than the contract's SHAPE: DuckDB rounds '1.5' to the integer 2 and reads
# '1e3', '0x10', '1_000' and the year 0000 (as 1 BC); PostgreSQL 16 reads '0x10' and '1_000', its numeric
# 'NaN' and 'Infinity', its dates 'T', slashes, month names, 24:00:00 and the leap second 23:59:60; casts
# skip tabs. So every engine checks the SHAPE first: the same text is the same value, or the same
# BAD_VALUE, on every engine.
# DuckDB: a GLOB (`{}` is the value) matching the common form of a shape, which DuckDB tests several times
# faster than the regular expression; a value it does not match still gets the regular expression.
# Numbers: digits only (or ''); dates: years 1000-9999; timestamps: also hours 00-19.
_GLOB_DAY = "[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
DUCKDB_QUICK_SHAPE = {INT: "NOT {} GLOB '*[!0-9]*'", FLAG: "NOT {} GLOB '*[!0-9]*'",
                      DECIMAL: "NOT {} GLOB '*[!0-9]*'", DATE: f"{{}} GLOB '{_GLOB_DAY}'",
                      TIMESTAMP: f"{{}} GLOB '{_GLOB_DAY} [01][0-9]:[0-5][0-9]:[0-5][0-9]'"}
LDZ_FILES_COLUMNS = ("load_id, business_date, table_name, file_name, status, reason_code, message, sha256, size_bytes, "
                     "rows_manifest, rows_file, rows_loaded, rows_rejected, loaded_at, source_root")
# PostgreSQL record numbers: filled by COPY in file order (a cached sequence costs little per row).
PG_ROW_NUMBER = "BIGINT GENERATED ALWAYS AS IDENTITY (CACHE 10000)"
DIRECT_PREFIX = "_load_"  # PostgreSQL's direct path: ldz._load_<table>_<server process id> (_direct_table)
# PostgreSQL's direct path (_plain_records): the plainest text of each type, whole, '' (NULL) allowed.
# Stricter than SHAPE: no spaces, no sign but a decimal's; years 1000-9999; numbers short enough not to
# overflow. A value in any other form sends its file to the text path.
PLAIN = {INT: "^[0-9]{0,18}$", FLAG: "^(0*[01])?$", DECIMAL: "^([+-]?[0-9]{1,15}([.][0-9]+)?)?$",
         DATE: "^([1-9][0-9]{3}-[0-9]{2}-[0-9]{2})?$",
         TIMESTAMP: "^([1-9][0-9]{3}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?$"}
OTHER_DELIMITERS = (";", "\t", "|")


class IngestUsageError(ValueError):
    """Bad arguments (exit code 2)."""


@dataclass
class TableResult:
    table: str
    file: str
    status: str  # LOADED | FAILED | SKIPPED (optional and absent)
    reason_code: str | None = None
    message: str = ""
    sha256: str | None = None
    size_bytes: int | None = None
    rows_manifest: int | None = None
    rows_file: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class IngestResult:
    business_date: str
    load_id: str
    source: str
    target: str
    tables: list[TableResult]
    reason_code: str | None = None  # set when the whole date failed before any table
    message: str = ""

    @property
    def failed(self) -> list[TableResult]:
        return [t for t in self.tables if t.status == "FAILED"]

    @property
    def ok(self) -> bool:
        """True when nothing needs an operator: no failed table, no rejected row."""
        return self.reason_code is None and not self.failed and not any(t.rows_rejected for t in self.tables)

    @property
    def reason_codes(self) -> list[str]:
        codes = {self.reason_code} if self.reason_code else set()
        for t in self.tables:
            if t.reason_code:
                codes.add(t.reason_code)
            codes.update(t.rejects_by_reason)
        return sorted(codes)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        d["reason_codes"] = self.reason_codes
        return d


# --- DDL ------------------------------------------------------------------------------------------

def ensure_schema(wh: Warehouse) -> None:
    """Create the LDZ and meta tables the ingest writes, and the cdm_ingest tables dbt reads (idempotent)."""
    t = SQL_TYPES[wh.engine]
    for schema in ("ldz", "meta"):
        wh.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for c in CONTRACTS.values():
        cols = [f"{col.db_name} {t[col.type]}" for col in c.columns]
        cols += [f"_business_date {t[DATE]} NOT NULL", f"_load_id {t[TEXT]} NOT NULL",
                 f"_source_file {t[TEXT]} NOT NULL", f"_row_number {t[INT]} NOT NULL",
                 f"_loaded_at {t[TIMESTAMP]} NOT NULL"]
        part = " PARTITION BY LIST (_business_date)" if wh.engine == "postgres" else ""
        wh.execute(f"CREATE TABLE IF NOT EXISTS ldz.{c.ldz_table} ({', '.join(cols)}){part}")
    wh.execute(f"""CREATE TABLE IF NOT EXISTS ldz.ldz_rejects (
        business_date {t[DATE]} NOT NULL, table_name {t[TEXT]} NOT NULL, load_id {t[TEXT]} NOT NULL,
        source_file {t[TEXT]} NOT NULL, row_number {t[INT]} NOT NULL, raw_line {t[TEXT]},
        reason_code {t[TEXT]} NOT NULL, reason_detail {t[TEXT]}, rejected_at {t[TIMESTAMP]} NOT NULL)""")
    wh.execute(f"""CREATE TABLE IF NOT EXISTS meta.ldz_files (
        load_id {t[TEXT]} NOT NULL, business_date {t[DATE]} NOT NULL, table_name {t[TEXT]} NOT NULL,
        file_name {t[TEXT]}, status {t[TEXT]} NOT NULL, reason_code {t[TEXT]}, message {t[TEXT]},
        sha256 {t[TEXT]}, size_bytes {t[INT]}, rows_manifest {t[INT]}, rows_file {t[INT]},
        rows_loaded {t[INT]}, rows_rejected {t[INT]}, loaded_at {t[TIMESTAMP]} NOT NULL, source_root {t[TEXT]})""")
    if not wh.column_exists("meta", "ldz_files", "source_root"):  # a warehouse from before the column
        wh.execute(f"ALTER TABLE meta.ldz_files ADD COLUMN source_root {t[TEXT]}")
    wh.execute(f"CREATE TABLE IF NOT EXISTS meta.load_window "
               f"(from_date {t[DATE]} NOT NULL, to_date {t[DATE]} NOT NULL, as_of_date {t[DATE]})")
    if not wh.column_exists("meta", "load_window", "as_of_date"):  # a warehouse from before the column
        wh.execute(f"ALTER TABLE meta.load_window ADD COLUMN as_of_date {t[DATE]}")
    if wh.engine == "postgres":
        wh.execute("CREATE INDEX IF NOT EXISTS ldz_rejects_date ON ldz.ldz_rejects (business_date, table_name)")
        _ensure_pg_safe_casts(wh)
    from .ml import ensure_ml_schema

    ensure_ml_schema(wh)  # cdm_ingest: a dbt source too, so `dbt build` works before any model scored


def _ensure_pg_safe_casts(wh: Warehouse) -> None:
    """PostgreSQL has no TRY_CAST: the text path calls these for the values a plain cast could fail on
    (_Sql.cast)."""
    for name, typ in (("bigint", "BIGINT"), ("numeric", "NUMERIC(18,2)"), ("date", "DATE"),
                      ("timestamp", "TIMESTAMP")):
        wh.execute(f"""
            CREATE OR REPLACE FUNCTION meta.try_{name}(v text) RETURNS {typ} LANGUAGE plpgsql IMMUTABLE AS $$
            BEGIN RETURN v::{typ}; EXCEPTION WHEN others THEN RETURN NULL; END $$""")


# --- whole-file checks ----------------------------------------------------------------------------

@dataclass
class _FileFacts:
    sha256: str
    size: int
    utf8_error: str | None
    newlines: int
    ends_with_newline: bool


def _scan(path: Path) -> _FileFacts:
    """One streaming pass: checksum, UTF-8 validity, physical line count."""
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    size = newlines = 0
    last = b""
    err = None
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
            if err is None:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as exc:
                    err = f"not UTF-8 near byte {size - len(chunk) + exc.start}: {exc.reason}"
    if err is None:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            err = f"not UTF-8 at the end of the file: {exc.reason}"
    return _FileFacts(h.hexdigest(), size, err, newlines, last == b"\n")


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        line = fh.readline()
    return next(csv.reader(io.StringIO(line)), [])


def _column_problems(contract: TableContract, names: list[str]) -> str:
    """What is wrong with a file's column names against the contract ('' when nothing): SCHEMA_MISMATCH."""
    missing = [c for c in contract.column_names if c not in names]
    extra = [c for c in names if c not in contract.column_names]
    return "; ".join(([f"missing column(s) {', '.join(missing)}"] if missing else [])
                     + ([f"unexpected column(s) {', '.join(extra)}"] if extra else [])
                     + (["repeated column names"] if len(set(names)) != len(names) else []))


def check_file(contract: TableContract, path: Path, entry: dict | None, res: TableResult,
               facts: _FileFacts | None = None) -> list[str] | None:
    """Whole-file checks. Returns the header (column order) when the file may load; else marks `res`.
    `facts` is the file's _scan when it was already made."""

    def fail(code: ReasonCode, msg: str) -> None:
        res.status, res.reason_code, res.message = "FAILED", code.value, msg

    if not path.exists():
        if contract.optional:
            res.status, res.reason_code = "SKIPPED", ReasonCode.OPTIONAL_UNAVAILABLE.value
            res.message = f"optional table {contract.table} not delivered ({path.name} absent)"
        else:
            fail(ReasonCode.MISSING_FILE, f"{path.name} is missing" + (" (listed in the manifest)" if entry else ""))
        return None
    facts = facts or _scan(path)
    res.sha256, res.size_bytes = facts.sha256, facts.size
    if facts.size == 0:
        fail(ReasonCode.EMPTY_FILE, f"{path.name} has zero bytes (a day with no rows still has a header)")
        return None
    if facts.utf8_error:
        fail(ReasonCode.BAD_FORMAT, f"{path.name} is {facts.utf8_error}")
        return None
    if entry is None:
        fail(ReasonCode.CHECKSUM_MISMATCH, f"{path.name} is not listed in _manifest.json: cannot verify it")
        return None
    header = _header(path)
    if len(header) == 1 and any(d in header[0] for d in OTHER_DELIMITERS):
        found = next(d for d in OTHER_DELIMITERS if d in header[0])
        fail(ReasonCode.BAD_FORMAT, f"{path.name} is delimited by {found!r}, the contract says ','")
        return None
    problems = _column_problems(contract, header)
    if problems:
        fail(ReasonCode.SCHEMA_MISMATCH, f"{path.name}: {problems}")
        return None
    rows_manifest = entry.get("rows")
    if entry.get("sha256") != facts.sha256:
        physical = facts.newlines - 1 + (0 if facts.ends_with_newline else 1)
        if not facts.ends_with_newline or (rows_manifest is not None and physical < rows_manifest):
            fail(ReasonCode.BAD_FORMAT,
                 f"{path.name} is truncated: it ends mid-record after {physical} of {rows_manifest} rows")
        else:
            fail(ReasonCode.CHECKSUM_MISMATCH,
                 f"{path.name} sha256 {facts.sha256[:12]}… differs from the manifest's "
                 f"{str(entry.get('sha256'))[:12]}…")
        return None
    return header


# --- Parquet input (DESIGN §3: "Parquet with the same columns accepted") --------------------------

def _delivered_file(c: TableContract, folder: Path, entry: dict | None) -> Path:
    """The file of a table: the manifest's name; unlisted, `<table>.csv`, else `<table>.parquet` if present."""
    if entry:
        return folder / entry["file"]
    parquet = folder / f"{c.table}.parquet"
    return parquet if not (folder / c.file_name).exists() and parquet.exists() else folder / c.file_name


class _HashingSink(io.RawIOBase):
    """A write-only file that hashes what it writes (the CSV rendering's sha256 without a second pass)."""

    def __init__(self, fh):
        self.fh, self.sha = fh, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.sha.update(b)
        return self.fh.write(b)


def _as_text(column, name: str):
    """One Parquet column as the CSV contract's text: ISO dates, `YYYY-MM-DD HH:MM:SS` timestamps (a
    sub-second part is kept, so the row is rejected as BAD_VALUE, never silently rounded), flags as 0/1,
    numbers as Arrow writes them, NULL stays NULL (an empty field). TypeError for a type with no text
    form in the contract (lists, structs, maps)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return column
    if pa.types.is_timestamp(t):  # whole seconds as the contract's shape; a fraction is kept (BAD_VALUE)
        seconds = pc.cast(column, pa.timestamp("s", t.tz), safe=False)
        whole = pc.equal(pc.cast(seconds, t), column)
        return pc.if_else(whole, pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S"),
                          pc.strftime(column, format="%Y-%m-%d %H:%M:%S"))
    if pa.types.is_boolean(t):
        return pc.cast(pc.cast(column, pa.int8()), pa.string())
    if pa.types.is_nested(t):
        raise TypeError(f"column {name} is {t}; the contract's columns are scalar values")
    return pc.cast(column, pa.string())  # ints, decimals, floats, dates, binary (validated as UTF-8)


def _parquet_as_csv(c: TableContract, path: Path, entry: dict | None, res: TableResult,
                    workdir: Path) -> tuple[Path, dict] | None:
    """A delivered Parquet file: its own whole-file checks (zero bytes, listed in the manifest, sha256,
    readable — a truncated file has no footer —, exactly the contract's columns), then its rows re-written
    as the CSV contract (text, RFC 4180, header) under `workdir`, with the manifest entry of that
    rendering: the CSV path then stages, types and classifies it like any delivered CSV, so the rules,
    reason codes and rejected lines are the same. None, with `res` failed, when a check fails."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    def fail(code: ReasonCode, msg: str) -> None:
        res.status, res.reason_code, res.message = "FAILED", code.value, msg

    facts = _scan(path)  # its sha256 and size (the UTF-8 and line facts are a CSV's)
    res.sha256, res.size_bytes = facts.sha256, facts.size
    if facts.size == 0:
        return fail(ReasonCode.EMPTY_FILE, f"{path.name} has zero bytes")
    if entry is None:
        return fail(ReasonCode.CHECKSUM_MISMATCH, f"{path.name} is not listed in _manifest.json: cannot verify it")
    if entry.get("sha256") != facts.sha256:
        return fail(ReasonCode.CHECKSUM_MISMATCH, f"{path.name} sha256 {facts.sha256[:12]}… differs from the "
                    f"manifest's {str(entry.get('sha256'))[:12]}…")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        return fail(ReasonCode.BAD_FORMAT, f"{path.name} is not a readable Parquet file (truncated?): {exc}")
    names = pf.schema_arrow.names
    problems = _column_problems(c, names)
    if problems:
        return fail(ReasonCode.SCHEMA_MISMATCH, f"{path.name}: {problems}")
    out = workdir / f"{c.table}.csv"
    text_schema = pa.schema([(n, pa.string()) for n in names])
    try:
        with out.open("wb") as fh:
            sink = _HashingSink(fh)
            with pacsv.CSVWriter(sink, text_schema, write_options=pacsv.WriteOptions(
                    include_header=True, quoting_style="needed")) as writer:
                for batch in pf.iter_batches(batch_size=1 << 16):
                    writer.write_batch(pa.record_batch(
                        [_as_text(batch.column(i), n) for i, n in enumerate(names)], schema=text_schema))
    except TypeError as exc:
        return fail(ReasonCode.SCHEMA_MISMATCH, f"{path.name}: {exc}")
    except (pa.ArrowException, OSError) as exc:
        return fail(ReasonCode.BAD_FORMAT, f"{path.name} could not be read: {str(exc).splitlines()[0]}")
    return out, {**entry, "file": out.name, "sha256": sink.sha.hexdigest()}


# --- set-based classification -----------------------------------------------------------------------

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_field(expr: str) -> str:
    """SQL re-serialising a text value as an RFC 4180 field (NULL as empty)."""
    return (f"CASE WHEN {expr} IS NULL THEN '' "
            f"WHEN position('\"' in {expr}) > 0 OR position(',' in {expr}) > 0 "
            f"OR position(chr(10) in {expr}) > 0 OR position(chr(13) in {expr}) > 0 "
            f"THEN '\"' || replace({expr}, '\"', '\"\"') || '\"' ELSE {expr} END")


class _Sql:
    """Engine-specific fragments of the classification SQL."""

    def __init__(self, engine: str):
        self.engine = engine
        self.types = SQL_TYPES[engine]

    def row_number(self, alias: str) -> str:
        """The record number of a raw row: COPY fills a BIGSERIAL on PostgreSQL; DuckDB's rowid."""
        return f"CAST({alias}.rowid + 1 AS BIGINT)" if self.engine == "duckdb" else f"{alias}._row_number"

    def blank(self, col: str) -> str:
        """A raw text column is NULL, empty or only spaces (' ': DuckDB's trim() also strips Unicode spaces)."""
        if self.engine == "duckdb":
            return f"({col} IS NULL OR NOT {col} GLOB '*[! ]*')"
        if self.engine == "snowflake":  # the emulator's trim(x, ' ') strips no-break spaces too
            return f"({col} IS NULL OR regexp_like({col}, ' *'))"
        return f"nullif(trim({col}), '') IS NULL"  # PostgreSQL's trim(): spaces

    def cast(self, col: str, typ: str) -> str:
        """Typed value of a raw text column: NULL when blank, and when it does not have its SHAPE or does
        not parse."""
        if typ == TEXT:
            return f"nullif({col}, '')"
        target = self.types[typ]
        shape = SHAPE[typ]
        if self.engine == "duckdb":  # its casts ignore surrounding spaces
            out = f"TRY_CAST({col} AS {target})"
            out = (f"CASE WHEN {DUCKDB_QUICK_SHAPE[typ].format(col)} THEN {out} "
                   f"WHEN regexp_full_match({col}, '{shape}') THEN {out} END")
            return f"CASE WHEN {out} IN (0, 1) THEN {out} END" if typ == FLAG else out
        if self.engine == "snowflake":  # TRY_*: NULL when the string does not parse (or is no calendar day)
            v = f"nullif(trim({col}, ' '), '')"
            out = {DATE: f"TRY_TO_DATE({v}, 'YYYY-MM-DD')",
                   TIMESTAMP: f"TRY_TO_TIMESTAMP_NTZ({v}, 'YYYY-MM-DD HH24:MI:SS')"}.get(
                       typ, f"TRY_CAST({v} AS {target})")
            out = f"CASE WHEN regexp_like({col}, '{shape}') THEN {out} END"
            return f"CASE WHEN {out} IN (0, 1) THEN {out} END" if typ == FLAG else out
        # PostgreSQL has no TRY_CAST: a shaped value casts plainly when it cannot fail (few enough digits;
        # a day of the month up to 28), else through meta.try_* (a PL/pgSQL exception block per call, far
        # costlier than a cast)
        v = f"nullif(trim({col}), '')"
        fn = {INT: "bigint", FLAG: "bigint", DECIMAL: "numeric", DATE: "date", TIMESTAMP: "timestamp"}[typ]
        can_cast = (f"length({v}) <= 18" if typ in (INT, FLAG) else f"length({v}) <= 17" if typ == DECIMAL
                    else f"substr({v}, 6, 2) BETWEEN '01' AND '12' AND substr({v}, 9, 2) BETWEEN '01' AND '28'")
        out = (f"CASE WHEN {v} ~ '^{shape}$' THEN CASE WHEN {can_cast} THEN CAST({v} AS {target}) "
               f"ELSE meta.try_{fn}({v}) END END")
        if typ == FLAG:
            out = f"CAST(CASE WHEN {out} IN (0, 1) THEN {out} END AS INTEGER)"
        return out


def _typed_select_sql(c: TableContract, raw_table: str, sql: _Sql) -> str:
    """The raw table typed, plus `_reason`/`_detail` for NULL_KEY and BAD_VALUE rows. Each value is typed
    once, in the inner query (PostgreSQL would otherwise pull the subquery up and evaluate every cast, a
    regular expression each, again in both CASEs: OFFSET 0 keeps it a subquery); the outer query tests
    the typed values."""
    inner = [f"{sql.row_number('r')} AS _row_number"]
    for col in c.columns:
        inner.append(f"{sql.cast(f'r.{_q(col.name)}', col.type)} AS {col.db_name}")
        if col.type != TEXT or col.name in c.keys:
            inner.append(f"r.{_q(col.name)} AS _raw_{col.db_name}")
    null_key = " OR ".join(sql.blank(f"t._raw_{c.column(k).db_name}") for k in c.keys)
    reason = [f"WHEN {null_key} THEN '{ReasonCode.NULL_KEY.value}'"]
    detail = [f"WHEN {null_key} THEN 'blank key ({', '.join(c.keys)})'"]
    for col in c.columns:
        if col.type != TEXT:
            raw = f"t._raw_{col.db_name}"
            bad = f"t.{col.db_name} IS NULL AND NOT {sql.blank(raw)}"
            reason.append(f"WHEN {bad} THEN '{ReasonCode.BAD_VALUE.value}'")
            detail.append(f"WHEN {bad} THEN '{col.name}=' || {raw} || ' is not a valid {col.type}'")
    offset = " OFFSET 0" if sql.engine == "postgres" else ""
    return (f"SELECT t._row_number, {', '.join(f't.{col.db_name}' for col in c.columns)}, "
            f"CASE {' '.join(reason)} END AS _reason, CASE {' '.join(detail)} END AS _detail "
            f"FROM (SELECT {', '.join(inner)} FROM {raw_table} r{offset}) t")


def _grain(c: TableContract) -> list[Column]:
    """The columns a record is unique by: its keys and change time."""
    return [col for col in c.columns if col.name in c.keys + c.change_time]


def _duplicate_groups_sql(c: TableContract, typed: str) -> str:
    """The grains held by more than one otherwise good row."""
    g = ", ".join(col.db_name for col in _grain(c))
    return f"SELECT {g} FROM {typed} WHERE _reason IS NULL GROUP BY {g} HAVING count(*) > 1"


def _duplicates_sql(c: TableContract, typed: str) -> str:
    """Rows to quarantine as DUPLICATE_KEY among the otherwise good rows, with a detail.

    Same key and change time: when every row of the group is identical, the first one loads and the
    copies are rejected; when the values conflict, nobody can tell which is right: all are rejected.
    """
    grain = [col.db_name for col in _grain(c)]
    allcols = [col.db_name for col in c.columns]
    g = ", ".join(grain)
    on = " AND ".join(f"t.{k} IS NOT DISTINCT FROM d.{k}" for k in grain)
    content = " || chr(31) || ".join(f"coalesce(CAST(t.{k} AS VARCHAR), chr(30))" for k in allcols)
    return f"""
        WITH d AS ({_duplicate_groups_sql(c, typed)}
        ), m AS (
            SELECT t._row_number, {content} AS content,
                   {", ".join(f"t.{k}" for k in grain)}
            FROM {typed} t JOIN d ON {on}
            WHERE t._reason IS NULL
        ), s AS (
            SELECT _row_number, content,
                   CASE WHEN min(content) OVER (PARTITION BY {g}) = max(content) OVER (PARTITION BY {g})
                        THEN 1 ELSE 2 END AS variants,
                   min(_row_number) OVER (PARTITION BY {g}) AS first_row
            FROM m
        )
        SELECT _row_number,
               CASE WHEN variants > 1 THEN 'conflicting values for one key and change time (first at row '
                         || CAST(first_row AS VARCHAR) || ')'
                    ELSE 'exact duplicate of row ' || CAST(first_row AS VARCHAR) END AS detail
        FROM s
        WHERE variants > 1 OR _row_number > first_row
    """


@dataclass
class _Staged:
    """A checked file read into a temp table, waiting for the transaction."""

    contract: TableContract
    path: Path
    header: list[str]
    res: TableResult
    direct: str | None = None  # PostgreSQL's direct path: the table to attach as the date's partition
    classified: bool = False  # Snowflake: `_typed_<table>` is already classified (before the transaction)
    source_file: str = ""  # the delivered file's name (a Parquet file is staged from its CSV rendering)


def _candidate_header(c: TableContract, path: Path) -> list[str] | None:
    """The file's header when it has exactly the contract's columns (what check_file requires), else None."""
    try:
        header = _header(path)
    except (OSError, UnicodeDecodeError):
        return None
    return header if sorted(header) == sorted(c.column_names) else None


def _check_and_stage(wh: Warehouse, c: TableContract, path: Path, entry: dict | None, res: TableResult,
                     ctx: dict, pool: ThreadPoolExecutor) -> _Staged | None:
    """check_file, then _stage; but the file's scan (sha256, UTF-8: hashlib releases the GIL) runs in
    `pool` while the engine reads the file. Staging is undone when a check fails, and its failure
    (or error) counts only when every check passed: the outcome is that of checking first."""
    scan: Future[_FileFacts] | None = pool.submit(_scan, path) if path.exists() else None
    guess = _candidate_header(c, path) if scan and entry is not None else None
    staged, error = None, None
    try:
        staged = _stage(wh, c, path, guess, res, ctx, pool) if guess else None
    except Exception as exc:
        error = exc
    header = check_file(c, path, entry, res, scan.result() if scan else None)
    if header is None:
        res.rows_file = 0
        _drop_staged(wh, c, ctx)
        return None
    if error:
        raise error
    staged = staged if header == guess else _stage(wh, c, path, header, res, ctx, pool)
    if staged and res.rows_manifest is not None and res.rows_file != res.rows_manifest:
        # records lost or added between the extract and its manifest (the sha256 cannot tell when both were
        # written after the loss): a whole-file failure, nothing partial loads
        _drop_staged(wh, c, ctx)
        res.status, res.reason_code = "FAILED", ReasonCode.ROW_COUNT_MISMATCH.value
        res.message = (f"{path.name} holds {res.rows_file} record(s), its manifest says {res.rows_manifest}: "
                       "re-land the file with its manifest, then replay the date")
        return None
    return staged


def _drop_staged(wh: Warehouse, c: TableContract, ctx: dict) -> None:
    """Drop what staging wrote for a table (after a failed check, or once the transaction is over)."""
    for table in (f"_raw_{c.table}", f"_typed_{c.table}") + ((_direct_table(c, ctx),)
                                                             if wh.engine == "postgres" else ()):
        wh.execute(f"DROP TABLE IF EXISTS {table}")


def _stage(wh: Warehouse, c: TableContract, path: Path, header: list[str], res: TableResult, ctx: dict,
           pool: ThreadPoolExecutor) -> _Staged | None:
    """Bulk-read a checked file (outside the transaction, so a file the engine cannot parse fails only its
    table): on PostgreSQL the direct path if the file is plain, else as text into the temp table
    `_raw_<table>`. Returns None with `res` marked on failure."""
    if wh.engine == "postgres" and (direct := _stage_direct(wh, c, path, header, res, ctx, pool)):
        return direct
    raw = f"_raw_{c.table}"
    wh.execute(f"DROP TABLE IF EXISTS {raw}")
    try:
        if wh.engine == "snowflake":
            _stage_snowflake(wh, raw, path, header)
        elif wh.engine == "duckdb":
            cols = "{" + ", ".join(f"'{h}': 'VARCHAR'" for h in header) + "}"
            # CTAS from one CSV keeps the file order (insertion order is preserved): rowid + 1 is the
            # record number (see _Sql.row_number).
            wh.execute(f"""CREATE TEMP TABLE {raw} AS
                SELECT * FROM read_csv('{path}', header = true, auto_detect = false, columns = {cols},
                                       delim = ',', quote = '"', escape = '"', strict_mode = true)""")
        else:
            raw_cols = ", ".join(f"{_q(h)} TEXT" for h in header)
            wh.execute(f"CREATE TEMP TABLE {raw} (_row_number {PG_ROW_NUMBER}, {raw_cols})")
            wh.copy_csv(raw, [_q(h) for h in header], path)
    except Exception as exc:
        if not _is_data_error(wh, exc):
            raise
        wh.execute(f"DROP TABLE IF EXISTS {raw}")
        res.status, res.reason_code = "FAILED", ReasonCode.BAD_FORMAT.value
        res.message = f"{path.name} could not be parsed as CSV: {str(exc).strip().splitlines()[0]}"
        return None
    res.rows_file = int(wh.scalar(f"SELECT count(*) FROM {raw}"))
    if wh.engine == "snowflake":  # DDL commits an open transaction on Snowflake: classify before it starts
        _classify(wh, c, raw, f"_typed_{c.table}")
        return _Staged(c, path, header, res, classified=True)
    return _Staged(c, path, header, res)


def _stage_snowflake(wh: Warehouse, raw: str, path: Path, header: list[str]) -> None:
    """Snowflake: the file, parsed strictly as RFC 4180 text (a record with too many or too few fields
    fails the file), into `raw` with its record numbers, through the connector's `write_pandas` (a PUT of
    Parquet to a temporary stage and one COPY INTO). `raw`'s text columns keep the header's names (quoted)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv
    from snowflake.connector import pandas_tools  # through the module: fakesnow.patch() replaces it there

    table = pacsv.read_csv(
        path, read_options=pacsv.ReadOptions(skip_rows=1, column_names=header, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, escape_char=False,
                                         newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    df = table.to_pandas()
    df.insert(0, "_ROW_NUMBER", range(1, len(df) + 1))
    wh.execute(f"CREATE TEMPORARY TABLE {raw} (_row_number BIGINT, "
               + ", ".join(f"{_q(h)} VARCHAR" for h in header) + ")")
    if len(df):
        ok, _chunks, _rows, _out = pandas_tools.write_pandas(wh.con, df, raw.upper(), quote_identifiers=True)
        if not ok:
            raise RuntimeError(f"write_pandas did not load {path.name} into {raw}")


def _plain_records(c: TableContract, path: Path, header: list[str]) -> int | None:
    """PostgreSQL's direct path: the number of records of a checked file when the text path would load
    every one of them unchanged, else None. Read with Arrow's CSV reader (in a thread, while COPY writes the
    file, _stage_direct), batch by batch, keeping only the grain's columns: no key is blank, every typed
    value has its PLAIN form and is a calendar day or time, no grain is held twice.

    Arrow and COPY split records alike except for a quote inside an unquoted field, which COPY reads as
    the start of a quoted part and Arrow as a character: a key with a quote in Arrow's value, a typed value
    (no PLAIN form has a quote), or a record count unlike COPY's then sends the file to the text path."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    grain = [col.name for col in _grain(c)]
    # the grain is compared typed, as the text path does ('07' is 7); a cast to a day raises for 2026-02-30
    types = {INT: pa.int64(), DATE: pa.date32(), TIMESTAMP: pa.timestamp("s")}
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(skip_rows=1, column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
        kept, records = [], 0
        for batch in reader:
            typed = {}
            for col in c.columns:
                v = batch.column(col.name)
                if col.name in c.keys and pc.any(pc.equal(pc.utf8_trim(v, " ") if col.type == TEXT else v, "")).as_py():
                    return None  # a blank key: NULL_KEY
                if col.type == TEXT:
                    if col.name in c.keys and pc.any(pc.match_substring(v, '"')).as_py():
                        return None
                    continue
                if not pc.all(pc.match_substring_regex(v, PLAIN[col.type])).as_py():
                    return None
                if col.type in (DATE, TIMESTAMP) or (col.name in grain and col.type in types):
                    typed[col.name] = pc.cast(pc.if_else(pc.equal(v, ""), pa.scalar(None, pa.string()), v),
                                              types[col.type])
            kept.append(pa.table({g: typed.get(g, batch.column(g)) for g in grain}))
            records += batch.num_rows
    except (pa.ArrowException, OSError):  # records Arrow cannot split as the header says, no such day, or
        return None  # Arrow failing otherwise (memory): the text path decides, only slower
    if records and pa.concat_tables(kept).group_by(grain).aggregate([([], "count_all")]).num_rows != records:
        return None  # DUPLICATE_KEY
    return records


def _direct_table(c: TableContract, ctx: dict) -> str:
    """The table _stage_direct writes a date's records into: in schema ldz (a partition cannot be a
    temporary table), named after the table and the session's server process, so concurrent landings never
    share one and one left by a killed ingest is known by its process having ended (_drop_orphans)."""
    return f"ldz.{DIRECT_PREFIX}{c.table}_{ctx['pid']}"


def _drop_orphans(wh: Warehouse) -> None:
    """Drop the direct path's tables whose session is gone: an ingest killed between staging and commit."""
    for (table,) in wh.query(
            f"SELECT tablename FROM pg_tables WHERE schemaname = 'ldz' AND left(tablename, {len(DIRECT_PREFIX)}) = "
            f"'{DIRECT_PREFIX}' AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a "
            "WHERE a.pid = CAST(substring(tablename FROM '_([0-9]+)$') AS INTEGER))"):
        wh.execute(f'DROP TABLE IF EXISTS ldz."{table}"')


def _stage_direct(wh: Warehouse, c: TableContract, path: Path, header: list[str], res: TableResult, ctx: dict,
                  pool: ThreadPoolExecutor) -> _Staged | None:
    """PostgreSQL's direct path: COPY a checked file straight into a new table shaped as the date's LDZ
    partition (lineage columns as column defaults, record numbers from a sequence, '' as NULL) while
    `_plain_records` reads it in a thread; the transaction attaches it in place of the partition
    (_load_staged). Returns None, having dropped the table, when the file is not plain: the text path
    classifies it then."""
    plain = pool.submit(_plain_records, c, path, header)
    table = _direct_table(c, ctx)
    p = wh.param
    wh.execute(f"DROP TABLE IF EXISTS {table}")
    wh.execute(f"CREATE TABLE {table} (LIKE ldz.{c.ldz_table} INCLUDING DEFAULTS, "
               f"CONSTRAINT in_partition CHECK (_business_date = DATE '{ctx['date']}'))")  # attaching scans nothing
    wh.execute(f"CREATE SEQUENCE {table}_rn CACHE 10000 OWNED BY {table}._row_number")
    defaults = {"_business_date": (p, ctx["date"]), "_load_id": (p, ctx["load_id"]),
                "_source_file": (p, ctx["source_file"]), "_loaded_at": (p, ctx["now"]),
                "_row_number": (f"nextval('{table}_rn')", None)}
    for col, (expr, value) in defaults.items():
        wh.execute(f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {expr}", [] if value is None else [value])
    try:
        rows = wh.copy_csv(table, [c.column(h).db_name for h in header], path, force_null=True)
    except Exception as exc:
        if not _is_data_error(wh, exc):
            raise
        rows = None
    if rows is not None and plain.result() == rows:
        for col in defaults:
            wh.execute(f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT")
        wh.execute(f"DROP SEQUENCE {table}_rn")
        res.rows_file = rows
        return _Staged(c, path, header, res, direct=table)
    plain.result()  # not left running while the text path reads the file
    wh.execute(f"DROP TABLE {table}")
    return None


def _load_staged(wh: Warehouse, c: TableContract, source_file: str, header: list[str], ctx: dict,
                 res: TableResult, direct: str | None, classified: bool = False) -> None:
    """Replace the date's partition (inside the caller's transaction): by the `direct` table (PostgreSQL),
    else by the rows of `_raw_<table>` that classify as good (`classified` already: Snowflake)."""
    raw, typed = f"_raw_{c.table}", f"_typed_{c.table}"
    if not direct and not classified:
        _classify(wh, c, raw, typed)

    p = wh.param
    date, load_id, now = ctx["date"], ctx["load_id"], ctx["now"]
    wh.execute(f"DELETE FROM ldz.ldz_rejects WHERE business_date = {p} AND table_name = {p}", [date, c.table])
    if wh.engine == "postgres":
        part = f"{c.ldz_table}_{date:%Y%m%d}"
        if direct:
            wh.execute(f"DROP TABLE IF EXISTS ldz.{part}")
            wh.execute(f"ALTER TABLE {direct} RENAME TO {part}")
            wh.execute(f"ALTER TABLE ldz.{c.ldz_table} ATTACH PARTITION ldz.{part} FOR VALUES IN ('{date}')")
        else:
            wh.execute(f"CREATE TABLE IF NOT EXISTS ldz.{part} PARTITION OF ldz.{c.ldz_table} "
                       f"FOR VALUES IN ('{date}')")
            wh.execute(f"TRUNCATE ldz.{part}")
    else:
        wh.execute(f"DELETE FROM ldz.{c.ldz_table} WHERE _business_date = {p}", [date])
    if not direct:
        cols = ", ".join(col.db_name for col in c.columns)
        wh.execute(
            f"""INSERT INTO ldz.{c.ldz_table} ({cols}, _business_date, _load_id, _source_file, _row_number, _loaded_at)
                SELECT {cols}, {p}, {p}, {p}, _row_number, {p} FROM {typed} WHERE _reason IS NULL""",
            [date, load_id, source_file, now])
    by_reason = [] if direct else wh.query(
        f"SELECT _reason, count(*) FROM {typed} WHERE _reason IS NOT NULL GROUP BY _reason")
    if by_reason:
        raw_line = " || ',' || ".join(_csv_field(f"r.{_q(h)}") for h in header)
        raw_rn = _Sql(wh.engine).row_number("r")
        wh.execute(
            f"""INSERT INTO ldz.ldz_rejects
                SELECT {p}, {p}, {p}, {p}, t._row_number, {raw_line}, t._reason, t._detail, {p}
                FROM {typed} t JOIN {raw} r ON {raw_rn} = t._row_number
                WHERE t._reason IS NOT NULL ORDER BY t._row_number""",
            [date, c.table, load_id, source_file, now])
    res.rejects_by_reason = {r: int(n) for r, n in sorted(by_reason)}
    res.rows_rejected = sum(res.rejects_by_reason.values())
    res.rows_loaded = res.rows_file - res.rows_rejected
    res.status = "LOADED"
    if res.rows_rejected:
        res.reason_code = max(res.rejects_by_reason, key=lambda k: res.rejects_by_reason[k])
        res.message = ", ".join(f"{n} {r}" for r, n in res.rejects_by_reason.items()) + " row(s) quarantined"
    if wh.engine != "snowflake" and not direct:  # DDL would commit Snowflake's transaction: dropped afterwards
        wh.execute(f"DROP TABLE {typed}")


def _classify(wh: Warehouse, c: TableContract, raw: str, typed: str) -> None:
    """Type `raw` into `typed` with each row's `_reason` and `_detail` (NULL for a row that loads)."""
    wh.execute(f"CREATE TEMP TABLE {typed} AS {_typed_select_sql(c, raw, _Sql(wh.engine))}")

    if wh.scalar(f"SELECT EXISTS ({_duplicate_groups_sql(c, typed)})"):
        if wh.engine == "snowflake":  # set-based: no round trip per duplicate
            wh.execute(f"CREATE TEMP TABLE _dups AS {_duplicates_sql(c, typed)}")
        else:
            p = wh.param
            wh.execute("CREATE TEMP TABLE _dups (_row_number BIGINT, detail TEXT)")
            wh.executemany(f"INSERT INTO _dups VALUES ({p}, {p})", wh.query(_duplicates_sql(c, typed)))
        wh.execute(f"""UPDATE {typed} SET _reason = '{ReasonCode.DUPLICATE_KEY.value}', _detail = d.detail
                       FROM _dups d WHERE {typed}._row_number = d._row_number""")
        wh.execute("DROP TABLE _dups")


# --- the command ----------------------------------------------------------------------------------

def new_load_id(business_date: dt.date, started: dt.datetime) -> str:
    """A landing's id: the business date, then the landing's start time (date, time, microseconds) and a random
    tail. Ids of one business date sort by landing time, across calendar days too: the vault ranks a date's
    versions by load_id (a date landed again wins). The `T` sorts after every digit, so these ids also sort
    after the ids of older releases, whose landing time had no calendar date (`20260102-235900-…`)."""
    return f"{business_date:%Y%m%d}-T{started:%Y%m%d%H%M%S}-{started:%f}{uuid.uuid4().hex[:4]}"


def ingest(wh: Warehouse, source: Path, business_date: dt.date, tables: list[str] | None = None) -> IngestResult:
    """Ingest one business date from `<source>/<date>/`; atomic per date. Never raises for bad data."""
    folder = Path(source) / business_date.isoformat()
    started = dt.datetime.now()
    now = started.replace(microsecond=0)
    load_id = new_load_id(business_date, started)
    result = IngestResult(business_date.isoformat(), load_id, str(folder), wh.target, [])
    wanted = tables or list(CONTRACTS)
    unknown = [t for t in wanted if t not in CONTRACTS]
    if unknown:
        raise IngestUsageError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(CONTRACTS)}")

    manifest_path = folder / "_manifest.json"
    if not folder.is_dir() or not manifest_path.exists():
        result.reason_code = ReasonCode.MISSING_FILE.value
        result.message = (f"no extract folder {folder}" if not folder.is_dir()
                          else f"no _manifest.json in {folder}") + ": nothing loaded"
        return result
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = {f["table"]: f for f in manifest["files"]}
        if manifest["business_date"] != business_date.isoformat():
            raise ValueError(f"manifest is for {manifest['business_date']}, not {business_date}")
    except (ValueError, KeyError, TypeError) as exc:
        result.reason_code = ReasonCode.BAD_FORMAT.value
        result.message = f"unreadable _manifest.json in {folder}: {exc}"
        return result

    ensure_schema(wh)
    ctx = {"date": business_date, "load_id": load_id, "now": now}
    if wh.engine == "postgres":
        _drop_orphans(wh)
        ctx["pid"] = wh.scalar("SELECT pg_backend_pid()")
    staged: list[_Staged] = []
    try:
        # two workers: a file's scan, and on PostgreSQL its _plain_records, while the engine reads it
        with ThreadPoolExecutor(max_workers=2) as pool, tempfile.TemporaryDirectory(prefix="dq-ingest-") as work:
            for table in wanted:
                c = CONTRACTS[table]
                entry = entries.get(table)
                path = _delivered_file(c, folder, entry)
                res = TableResult(table, path.name, "FAILED",
                                  rows_manifest=entry.get("rows") if entry else None)
                result.tables.append(res)
                file_ctx = {**ctx, "source_file": path.name}
                if path.suffix.lower() == ".parquet" and path.exists():
                    rendered = _parquet_as_csv(c, path, entry, res, Path(work))
                    if rendered is None:
                        continue
                    sha256, size = res.sha256, res.size_bytes
                    s = _check_and_stage(wh, c, rendered[0], rendered[1], res, file_ctx, pool)
                    res.sha256, res.size_bytes = sha256, size  # the delivered file's fingerprint
                else:
                    s = _check_and_stage(wh, c, path, entry, res, file_ctx, pool)
                if s:
                    s.source_file = path.name
                    staged.append(s)
        lock = BuildLock(wh.target, wh.engine)  # the window is the builds': none may run while it moves
        lock.acquire()
        try:
            with wh.transaction():
                for s in staged:
                    _load_staged(wh, s.contract, s.source_file, s.header, ctx, s.res, s.direct, s.classified)
                set_window(wh, business_date, business_date)  # a plain `dbt build` now loads this date
                wh.executemany(
                    f"INSERT INTO meta.ldz_files ({LDZ_FILES_COLUMNS}) VALUES ({', '.join([wh.param] * 15)})",
                    [(load_id, business_date, r.table, r.file, r.status, r.reason_code, r.message, r.sha256,
                      r.size_bytes, r.rows_manifest, r.rows_file, r.rows_loaded, r.rows_rejected, now,
                      str(Path(source).resolve())) for r in result.tables])
        finally:
            lock.release()
    finally:
        for s in staged:
            _drop_staged(wh, s.contract, ctx)
    return result


def is_landed(wh: Warehouse, day: dt.date) -> bool:
    """Whether any file of the business date was loaded into LDZ (meta.ldz_files, status LOADED)."""
    return wh.table_exists("meta", "ldz_files") and bool(wh.scalar(
        f"SELECT count(*) FROM meta.ldz_files WHERE business_date = {wh.param} AND status = 'LOADED'", [day]))


def latest_loads_sql() -> str:
    """SQL for the load ids of each business date's latest landing in meta.ldz_files: the last by load time,
    then by load id (new_load_id). Not correlated (Snowflake)."""
    return ("(select load_id from (select load_id, row_number() over (partition by business_date order by "
            "loaded_at desc, load_id desc) as recency from meta.ldz_files) latest where recency = 1)")


def _is_data_error(wh: Warehouse, exc: Exception) -> bool:
    if wh.engine == "duckdb":
        import duckdb

        return isinstance(exc, (duckdb.InvalidInputException, duckdb.ConversionException))
    if wh.engine == "snowflake":  # the file did not parse as CSV (_stage_snowflake)
        import pyarrow

        return isinstance(exc, pyarrow.ArrowInvalid)
    import psycopg2

    return isinstance(exc, (psycopg2.DataError, psycopg2.errors.BadCopyFileFormat))
