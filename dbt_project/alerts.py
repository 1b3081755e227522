"""Alerts: `meta.etl_alerts`, their detection (`dq alerts check`) and the webhook notifier.

Three kinds (DESIGN.md §9): RUN_FAILED (a run failed; its reason code says why), ZERO_ROWS (a layer's
table got no rows for the business date) and ANOMALY (a table's daily row count outside a band around its
trailing median, or negative revenue). `kind` is not a reason code: every alert also carries one from the
enum (dbt_project/reason_codes.py) — RUN_FAILED alerts the code of the failure, the others ZERO_ROWS /
ANOMALY.

Python API for other modules (the run registry calls `run_failed` when a run fails):

    from dbt_project import alerts
    alerts.run_failed(target, run_id, business_date, reason_code, message)      # kind RUN_FAILED
    alerts.record_alert(wh_or_target, "ZERO_ROWS", "ZERO_ROWS", day, "...", details={...}, table="rdv.l_contact")

Both write one row and then notify: with `DQ_ALERT_WEBHOOK_URL` set the alert is POSTed as JSON (Slack:
`text`; Telegram: also `chat_id` from `DQ_ALERT_TELEGRAM_CHAT_ID`; `DQ_ALERT_PAYLOAD=full` adds the structured
alert for a generic receiver) with a timeout and bounded retries with
exponential backoff; without a URL the alert is only recorded (sent = false). A notification failure never
raises: it is kept in `attempts` / `last_error` and the alert stays unsent. Passing an open `Warehouse`
reuses its connection (DuckDB allows one writer; never call with a target name while holding the file).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from .project import ConfigError, default_target
from .reason_codes import ReasonCode
from .warehouse import Warehouse

KINDS = ("RUN_FAILED", "ZERO_ROWS", "ANOMALY")

ALERTS_DDL = """create table if not exists meta.etl_alerts (
    alert_id varchar(64) not null primary key,
    kind varchar(16) not null,
    reason_code varchar(32) not null,
    business_date date,
    table_name varchar(200),
    layer varchar(16),
    run_id varchar(64),
    message text not null,
    details text,
    created_at timestamp not null,
    sent boolean not null,
    sent_at timestamp,
    attempts integer not null,
    last_error text,
    acknowledged_at timestamp,
    ack_note text
)"""

COLUMNS = ("alert_id", "kind", "reason_code", "business_date", "table_name", "layer", "run_id", "message",
           "details", "created_at", "sent", "sent_at", "attempts", "last_error", "acknowledged_at", "ack_note")


@dataclass
class Alert:
    alert_id: str
    kind: str
    reason_code: str
    business_date: dt.date | None
    message: str
    details: dict = field(default_factory=dict)
    table_name: str | None = None
    layer: str | None = None
    run_id: str | None = None
    created_at: dt.datetime | None = None
    sent: bool = False
    sent_at: dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    acknowledged_at: dt.datetime | None = None  # an operator accepted it (`dq alerts ack`), with a note
    ack_note: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("business_date", "created_at", "sent_at", "acknowledged_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def ensure_table(wh: Warehouse) -> None:
    """Create meta.etl_alerts if missing (idempotent); add the acknowledgement columns to an older table."""
    wh.execute("create schema if not exists meta")
    wh.execute(ALERTS_DDL)
    for column, typ in (("acknowledged_at", "timestamp"), ("ack_note", "text")):
        if not wh.column_exists("meta", "etl_alerts", column):
            wh.execute(f"alter table meta.etl_alerts add column {column} {typ}")


@contextmanager
def _warehouse(wh_or_target) -> Iterator[Warehouse]:
    if isinstance(wh_or_target, Warehouse):
        yield wh_or_target
    else:
        with Warehouse(wh_or_target) as wh:
            yield wh


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _check(kind: str, reason_code: str | ReasonCode) -> str:
    if kind not in KINDS:
        raise ValueError(f"alert kind {kind!r} is not one of {', '.join(KINDS)}")
    return ReasonCode(str(reason_code)).value  # raises ValueError for a code outside the enum


# --- recording --------------------------------------------------------------------------------------

def record_alert(wh_or_target, kind: str, reason_code: str | ReasonCode, business_date: dt.date | None,
                 message: str, details: dict | None = None, *, table: str | None = None,
                 layer: str | None = None, run_id: str | None = None, notify: bool = True,
                 notifier: Notifier | None = None) -> Alert:
    """Write one alert to meta.etl_alerts, then (by default) send it; returns the alert as stored."""
    alert = Alert(uuid.uuid4().hex, kind, _check(kind, reason_code), business_date, message, dict(details or {}),
                  table, layer, run_id, _now())
    with _warehouse(wh_or_target) as wh:
        ensure_table(wh)
        wh.execute(f"insert into meta.etl_alerts ({', '.join(COLUMNS)}) values ({', '.join([wh.param] * 16)})",
                   [alert.alert_id, alert.kind, alert.reason_code, alert.business_date, alert.table_name,
                    alert.layer, alert.run_id, alert.message, json.dumps(alert.details, default=str),
                    alert.created_at, False, None, 0, None, None, None])
        if notify:
            (notifier or Notifier.from_env()).deliver(wh, alert)
    return alert


def run_failed(target_or_wh, run_id: str, business_date: dt.date | None, reason_code: str | ReasonCode,
               message: str, details: dict | None = None, *, layer: str | None = None,
               notify: bool = True, notifier: Notifier | None = None) -> Alert:
    """Record (and send) a RUN_FAILED alert for a failed run; `reason_code` says why it failed."""
    return record_alert(target_or_wh, "RUN_FAILED", reason_code, business_date, message,
                        {"run_id": run_id, **(details or {})}, layer=layer, run_id=run_id, notify=notify,
                        notifier=notifier)


def list_alerts(wh_or_target, last: int = 20, business_date: dt.date | None = None) -> list[Alert]:
    """The latest alerts, newest first (an empty list when the table does not exist yet)."""
    with _warehouse(wh_or_target) as wh:
        if not wh.table_exists("meta", "etl_alerts"):
            return []
        ensure_table(wh)
        where, args = ("", [])
        if business_date:
            where, args = f"where business_date = {wh.param}", [business_date]
        rows = wh.query(f"select {', '.join(COLUMNS)} from meta.etl_alerts {where} "
                        f"order by created_at desc, alert_id limit {int(last)}", args)
    return [_alert(r) for r in rows]


def _alert(row) -> Alert:
    d = dict(zip(COLUMNS, row, strict=True))
    details = json.loads(d.pop("details")) if d["details"] else {}
    d["sent"] = bool(d["sent"])
    return Alert(details=details, **d)


# --- the notifier -----------------------------------------------------------------------------------

def payload(alert: Alert, chat_id: str | None = None, full: bool = False) -> dict:
    """The JSON body: Slack incoming webhooks read `text`; Telegram's sendMessage reads `chat_id` + `text`.
    `full` (DQ_ALERT_PAYLOAD=full, for a generic webhook receiver) adds the structured alert under `alert`;
    by default the body holds only the keys Slack and Telegram document."""
    where = " ".join(x for x in (alert.layer, alert.table_name) if x)
    text = (f"[CDM {alert.kind}] {alert.reason_code}"
            + (f" · {alert.business_date}" if alert.business_date else "")
            + (f" · {where}" if where else "") + f": {alert.message}"
            + f" — next: {ReasonCode(alert.reason_code).action}")
    body: dict = {"text": text}
    if full:
        body["alert"] = alert.as_dict()
    if chat_id:
        body["chat_id"] = chat_id
    return body


@dataclass
class SendResult:
    sent: bool
    attempts: int
    error: str | None = None
    status: int | None = None


@dataclass
class Notifier:
    """POSTs alerts to one webhook. url None ⇒ record only."""

    url: str | None = None
    chat_id: str | None = None
    timeout: float = 5.0
    retries: int = 3  # attempts after the first
    backoff: float = 0.5  # seconds before the first retry; doubled each time
    full: bool = False  # also send the structured alert (generic webhooks)
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls) -> Notifier:
        env = os.environ
        return cls(url=env.get("DQ_ALERT_WEBHOOK_URL") or None,
                   chat_id=env.get("DQ_ALERT_TELEGRAM_CHAT_ID") or None,
                   timeout=float(env.get("DQ_ALERT_TIMEOUT", "5")),
                   retries=int(env.get("DQ_ALERT_RETRIES", "3")),
                   backoff=float(env.get("DQ_ALERT_BACKOFF", "0.5")),
                   full=env.get("DQ_ALERT_PAYLOAD", "text") == "full")

    def send(self, alert: Alert) -> SendResult:
        """Post the payload; retry on a connection error, a timeout, HTTP 429 or 5xx (not on other 4xx)."""
        if not self.url:
            return SendResult(False, 0, None)
        data = json.dumps(payload(alert, self.chat_id, self.full), default=str).encode()
        error, status = None, None
        for attempt in range(1, self.retries + 2):
            req = urllib.request.Request(self.url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return SendResult(True, attempt, None, resp.status)
            except urllib.error.HTTPError as exc:
                status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
                if exc.code != 429 and exc.code < 500:
                    return SendResult(False, attempt, error, status)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                error = f"{type(reason).__name__}: {reason}"
            if attempt <= self.retries:
                self.sleep(self.backoff * 2 ** (attempt - 1))
        return SendResult(False, self.retries + 1, error, status)

    def deliver(self, wh: Warehouse, alert: Alert) -> Alert:
        """Send and record the outcome on the alert's row (no-op without a URL)."""
        if not self.url:
            return alert
        res = self.send(alert)
        alert.sent, alert.attempts, alert.last_error = res.sent, alert.attempts + res.attempts, res.error
        alert.sent_at = _now() if res.sent else None
        p = wh.param
        wh.execute(f"update meta.etl_alerts set sent = {p}, sent_at = {p}, attempts = {p}, last_error = {p} "
                   f"where alert_id = {p}", [alert.sent, alert.sent_at, alert.attempts, alert.last_error,
                                              alert.alert_id])
        return alert


def resend_unsent(wh_or_target, notifier: Notifier | None = None, last: int = 100) -> list[Alert]:
    """Try again to send the latest unsent alerts (e.g. after the webhook was down)."""
    notifier = notifier or Notifier.from_env()
    with _warehouse(wh_or_target) as wh:
        pending = [a for a in list_alerts(wh, last) if not a.sent]
        return [notifier.deliver(wh, a) for a in pending]


# --- detection (`dq alerts check`) -----------------------------------------------------------------

@dataclass(frozen=True)
class Monitored:
    layer: str
    table: str  # schema.table
    date_column: str
    daily: bool  # rows expected every business date (else: no rows is not ZERO_ROWS)
    band: bool  # row count compared with the trailing median


# The tables watched per business date. Daily: tables every day's extract feeds (contact history, flowchart
# runs, treatments and what the vault makes of them). Dimensions (customer, campaign, ...) carry only the
# day's changes, so an empty day is normal for them; responses lag contacts, so day one may have none.
MONITORED: tuple[Monitored, ...] = (
    Monitored("ldz", "ldz.ldz_ua_contacthistory", "_business_date", True, True),
    Monitored("ldz", "ldz.ldz_ua_ccrunlog", "_business_date", True, False),
    Monitored("ldz", "ldz.ldz_ua_treatment", "_business_date", True, False),
    Monitored("ldz", "ldz.ldz_ua_responsehistory", "_business_date", False, True),
    Monitored("rdv", "rdv.l_contact", "business_date", True, True),
    Monitored("rdv", "rdv.s_contact_status", "business_date", True, True),
    Monitored("rdv", "rdv.s_flowchart_run_execution", "business_date", True, False),
    Monitored("rdv", "rdv.l_response", "business_date", False, True),
)
# where negative amounts are looked for: every column named revenue* of these schemas (rdv by date)
REVENUE_SCHEMAS = ("rdv", "c360", "cdm_publish")


@dataclass
class AnomalySettings:
    window: int = 7  # trailing business dates compared
    band: float = 0.5  # allowed relative distance from the trailing median (0.5 = ±50%)
    min_history: int = 3  # fewer earlier dates with rows than this: the band is not judged

    @classmethod
    def from_env(cls, **overrides) -> AnomalySettings:
        env = os.environ
        s = cls(window=int(env.get("DQ_ANOMALY_WINDOW", cls.window)),
                band=float(env.get("DQ_ANOMALY_BAND", cls.band)),
                min_history=int(env.get("DQ_ANOMALY_MIN_HISTORY", cls.min_history)))
        for k, v in overrides.items():
            if v is not None:
                setattr(s, k, v)
        return s


@dataclass
class Finding:
    check: str  # zero_rows | row_count_band | negative_revenue
    layer: str
    table: str
    status: str  # OK | ALERT | ACKNOWLEDGED (an ALERT an operator accepted: `dq alerts ack`) | SKIPPED
    observed: float | int | None = None
    expected: str = ""
    reason_code: str | None = None
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _split(table: str) -> tuple[str, str]:
    schema, name = table.split(".", 1)
    return schema, name


def _daily_counts(wh: Warehouse, m: Monitored, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    p = wh.param
    rows = wh.query(f"select {m.date_column}, count(*) from {m.table} where {m.date_column} between {p} and {p} "
                    f"group by {m.date_column}", [first, last])
    return {(r[0] if isinstance(r[0], dt.date) else dt.date.fromisoformat(str(r[0]))): int(r[1]) for r in rows}


def zero_row_findings(wh: Warehouse, day: dt.date, monitored=MONITORED) -> list[Finding]:
    """ZERO_ROWS: a daily table with no rows for the business date."""
    out = []
    for m in monitored:
        if not m.daily:
            continue
        if not wh.table_exists(*_split(m.table)):
            out.append(Finding("zero_rows", m.layer, m.table, "SKIPPED", message="table not built"))
            continue
        n = _daily_counts(wh, m, day, day).get(day, 0)
        out.append(Finding("zero_rows", m.layer, m.table, "OK" if n else "ALERT", n, "> 0",
                           None if n else ReasonCode.ZERO_ROWS.value,
                           "" if n else f"{m.table} has no rows for business date {day}"))
    return out


def band_findings(wh: Warehouse, day: dt.date, settings: AnomalySettings, monitored=MONITORED) -> list[Finding]:
    """ANOMALY: the day's row count outside median * (1 +- band) of the earlier dates (with rows) in the window."""
    out = []
    for m in monitored:
        if not m.band or not wh.table_exists(*_split(m.table)):
            continue
        counts = _daily_counts(wh, m, day - dt.timedelta(days=settings.window), day)
        n = counts.pop(day, 0)
        history = [c for c in counts.values() if c > 0]
        if len(history) < settings.min_history:
            out.append(Finding("row_count_band", m.layer, m.table, "SKIPPED", n,
                               message=f"{len(history)} earlier date(s) with rows in the {settings.window}-day "
                                       f"window; {settings.min_history} needed"))
            continue
        if n == 0:  # zero rows is ZERO_ROWS (daily tables) or a normal quiet day (the others), not a band breach
            continue
        median = statistics.median(history)
        lo, hi = median * (1 - settings.band), median * (1 + settings.band)
        ok = lo <= n <= hi
        out.append(Finding("row_count_band", m.layer, m.table, "OK" if ok else "ALERT", n,
                           f"{lo:,.0f}..{hi:,.0f} (median {median:,.0f} of {len(history)} dates)",
                           None if ok else ReasonCode.ANOMALY.value,
                           "" if ok else f"{m.table}: {n:,} rows for {day}, outside {lo:,.0f}..{hi:,.0f} "
                                         f"(trailing median {median:,.0f} ± {settings.band:.0%})"))
    return out


def revenue_columns(wh: Warehouse, schemas=REVENUE_SCHEMAS) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every column named revenue* in the given schemas."""
    p = wh.param  # lower(): Snowflake stores unquoted names upper-cased
    rows = wh.query(
        "select lower(table_schema), lower(table_name), lower(column_name) from information_schema.columns "
        f"where lower(table_schema) in ({', '.join([p] * len(schemas))}) "
        "and substr(lower(column_name), 1, 7) = 'revenue' order by 1, 2, 3", list(schemas))
    return [(r[0], r[1], r[2]) for r in rows]


def negative_revenue_findings(wh: Warehouse, day: dt.date | None, schemas=REVENUE_SCHEMAS) -> list[Finding]:
    """ANOMALY: rows with a negative revenue* value (the vault's rows of the date; the whole 360/publish table)."""
    out = []
    by_table: dict[tuple[str, str], list[str]] = {}
    for schema, table, col in revenue_columns(wh, schemas):
        by_table.setdefault((schema, table), []).append(col)
    for (schema, table), cols in by_table.items():
        cond = " or ".join(f"{c} < 0" for c in cols)
        sql = f"select count(*) from {schema}.{table} where ({cond})"
        args: list = []
        if schema == "rdv" and day is not None:
            sql += f" and business_date = {wh.param}"
            args = [day]
        n = int(wh.scalar(sql, args) or 0)
        layer = {"rdv": "rdv", "c360": "360", "cdm_publish": "publish"}.get(schema, schema)
        out.append(Finding("negative_revenue", layer, f"{schema}.{table}", "ALERT" if n else "OK", n, "0",
                           ReasonCode.ANOMALY.value if n else None,
                           f"{n:,} row(s) of {schema}.{table} with negative {'/'.join(cols)}" if n else ""))
    return out


@dataclass
class CheckReport:
    business_date: dt.date
    target: str
    findings: list[Finding]
    alerts: list[Alert]
    already_recorded: int = 0
    acknowledged: int = 0

    @property
    def breaches(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "ALERT"]

    @property
    def ok(self) -> bool:
        return not self.breaches

    def as_dict(self) -> dict:
        return {"business_date": self.business_date.isoformat(), "target": self.target, "ok": self.ok,
                "findings": [f.as_dict() for f in self.findings], "alerts": [a.as_dict() for a in self.alerts],
                "already_recorded": self.already_recorded, "acknowledged": self.acknowledged}


def check(target: str | None, day: dt.date, settings: AnomalySettings | None = None, notify: bool = True,
          notifier: Notifier | None = None) -> CheckReport:
    """Detect ZERO_ROWS and ANOMALY for a business date and record one alert per breach. Rerun-safe: an
    alert already recorded for the same date, kind, table and message is not recorded (nor sent) again; when an
    operator acknowledged it (`dq alerts ack`), its finding is ACKNOWLEDGED, not a breach."""
    settings = settings or AnomalySettings.from_env()
    with Warehouse(target) as wh:
        if not wh.table_exists("meta", "ldz_files"):
            raise ConfigError("nothing landed in this warehouse yet (no meta.ldz_files): run `dq ingest` first")
        findings = (zero_row_findings(wh, day) + band_findings(wh, day, settings)
                    + negative_revenue_findings(wh, day))
        ensure_table(wh)
        p = wh.param
        recorded, skipped, acknowledged = [], 0, 0
        for f in findings:
            if f.status != "ALERT":
                continue
            kind = "ZERO_ROWS" if f.reason_code == ReasonCode.ZERO_ROWS.value else "ANOMALY"
            seen = wh.scalar(f"select count(*) from meta.etl_alerts where kind = {p} and business_date = {p} "
                             f"and table_name = {p} and message = {p}", [kind, day, f.table, f.message])
            # accepted for the date, table and check, whatever the numbers in its message (another band or
            # trailing median after a replay is the same breach)
            acked = wh.scalar(f"select count(*) from meta.etl_alerts where kind = {p} and business_date = {p} "
                              f"and table_name = {p} and acknowledged_at is not null and details like {p}",
                              [kind, day, f.table, f'%"check": "{f.check}"%'])
            if acked:
                f.status = "ACKNOWLEDGED"
                acknowledged += 1
            if seen or acked:
                skipped += 1
                continue
            recorded.append(record_alert(wh, kind, f.reason_code, day, f.message,
                                         {"check": f.check, "observed": f.observed, "expected": f.expected},
                                         table=f.table, layer=f.layer, notify=notify, notifier=notifier))
    return CheckReport(day, target or default_target(), findings, recorded, skipped, acknowledged)


def acknowledge(target: str | None, alert_ids: list[str], note: str) -> list[Alert]:
    """Mark alerts as accepted by an operator, with a note (e.g. "campaign paused: real drop"). Each id may be a
    unique prefix (at least 6 characters) of an alert_id. Raises ConfigError for an unknown or ambiguous id."""
    if not note.strip():
        raise ConfigError("--note must say why the alert is accepted (it goes into meta.etl_alerts.ack_note)")
    with Warehouse(target) as wh:
        if not wh.table_exists("meta", "etl_alerts"):
            raise ConfigError("no alert recorded yet (meta.etl_alerts does not exist)")
        ensure_table(wh)
        p, found = wh.param, []
        for wanted in alert_ids:
            if len(wanted) < 6:
                raise ConfigError(f"alert id {wanted!r}: give at least 6 characters (`dq alerts` shows them)")
            ids = [r[0] for r in wh.query(f"select alert_id from meta.etl_alerts where alert_id like {p}",
                                           [wanted.replace("%", "") + "%"])]
            if not ids:
                raise ConfigError(f"no alert id starts with {wanted!r} (`dq alerts` lists them)")
            if len(ids) > 1:
                raise ConfigError(f"alert id {wanted!r} matches {len(ids)} alerts: give more of it")
            found.append(ids[0])
        with wh.transaction():
            for alert_id in found:
                wh.execute(f"update meta.etl_alerts set acknowledged_at = {p}, ack_note = {p} where alert_id = {p}",
                           [_now(), note.strip(), alert_id])
        return [_alert(wh.query(f"select {', '.join(COLUMNS)} from meta.etl_alerts where alert_id = {p}", [i])[0])
                for i in found]
