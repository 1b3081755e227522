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
`text`; Telegram: also `chat_id` from `DQ_ALERT_TELEGRAM_CHAT_ID`) with a timeout and bounded retries with
exponential backoff; without a URL the alert is only recorded (sent = false). A notification failure never
raises: it is kept in `attempts` / `last_error` and the alert stays unsent. Passing an open `Warehouse`
reuses its connection (DuckDB allows one writer; never call with a target name while holding the file).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

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
    last_error text
)"""

COLUMNS = ("alert_id", "kind", "reason_code", "business_date", "table_name", "layer", "run_id", "message",
           "details", "created_at", "sent", "sent_at", "attempts", "last_error")


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

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("business_date", "created_at", "sent_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def ensure_table(wh: Warehouse) -> None:
    """Create meta.etl_alerts if missing (idempotent)."""
    wh.execute("create schema if not exists meta")
    wh.execute(ALERTS_DDL)


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
        wh.execute(f"insert into meta.etl_alerts ({', '.join(COLUMNS)}) values ({', '.join([wh.param] * 14)})",
                   [alert.alert_id, alert.kind, alert.reason_code, alert.business_date, alert.table_name,
                    alert.layer, alert.run_id, alert.message, json.dumps(alert.details, default=str),
                    alert.created_at, False, None, 0, None])
        if notify:
            (notifier or Notifier.from_env()).deliver(wh, alert)
    return alert


def run_failed(target_or_wh, run_id: str, business_date: dt.date | None, reason_code: str | ReasonCode,
               message: str, details: dict | None = None, *, layer: str | None = None,
               notify: bool = True) -> Alert:
    """Record (and send) a RUN_FAILED alert for a failed run; `reason_code` says why it failed."""
    return record_alert(target_or_wh, "RUN_FAILED", reason_code, business_date, message,
                        {"run_id": run_id, **(details or {})}, layer=layer, run_id=run_id, notify=notify)


def list_alerts(wh_or_target, last: int = 20, business_date: dt.date | None = None) -> list[Alert]:
    """The latest alerts, newest first (an empty list when the table does not exist yet)."""
    with _warehouse(wh_or_target) as wh:
        if not wh.table_exists("meta", "etl_alerts"):
            return []
        where, args = ("", [])
        if business_date:
            where, args = f"where business_date = {wh.param}", [business_date]
        rows = wh.query(f"select {', '.join(COLUMNS)} from meta.etl_alerts {where} "
                        f"order by created_at desc, alert_id limit {int(last)}", args)
    out = []
    for r in rows:
        d = dict(zip(COLUMNS, r, strict=True))
        details = json.loads(d.pop("details")) if d["details"] else {}
        d["sent"] = bool(d["sent"])
        out.append(Alert(details=details, **d))
    return out


# --- the notifier -----------------------------------------------------------------------------------

def payload(alert: Alert, chat_id: str | None = None) -> dict:
    """The JSON body: Slack incoming webhooks read `text`; Telegram's sendMessage reads `chat_id` + `text`.
    The structured alert rides along under `alert` (both ignore unknown keys)."""
    where = " ".join(x for x in (alert.layer, alert.table_name) if x)
    text = (f"[CDM {alert.kind}] {alert.reason_code}"
            + (f" · {alert.business_date}" if alert.business_date else "")
            + (f" · {where}" if where else "") + f": {alert.message}"
            + f" — next: {ReasonCode(alert.reason_code).action}")
    body: dict = {"text": text, "alert": alert.as_dict()}
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
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls) -> Notifier:
        env = os.environ
        return cls(url=env.get("DQ_ALERT_WEBHOOK_URL") or None,
                   chat_id=env.get("DQ_ALERT_TELEGRAM_CHAT_ID") or None,
                   timeout=float(env.get("DQ_ALERT_TIMEOUT", "5")),
                   retries=int(env.get("DQ_ALERT_RETRIES", "3")),
                   backoff=float(env.get("DQ_ALERT_BACKOFF", "0.5")))

    def send(self, alert: Alert) -> SendResult:
        """Post the payload; retry on a connection error, a timeout, HTTP 429 or 5xx (not on other 4xx)."""
        if not self.url:
            return SendResult(False, 0, None)
        data = json.dumps(payload(alert, self.chat_id), default=str).encode()
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
