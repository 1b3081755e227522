"""Alerts: meta.etl_alerts and the webhook notifier against a real local HTTP server (on DuckDB, PostgreSQL
and the Snowflake emulator), ZERO_ROWS / ANOMALY detection on a built warehouse, and `dq alerts` as a user
meets it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from dbt_project import alerts
from dbt_project.cli import main
from dbt_project.warehouse import Warehouse

D = dt.date(2026, 1, 3)  # the last date of the built warehouse (tests/conftest.py BUILT_DATES)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


class Webhook:
    """A real HTTP server in a thread. `script` lists what each request gets: an HTTP status, or
    ("sleep", seconds) to answer 200 only after that long (a hung webhook)."""

    def __init__(self, script):
        self.script, self.bodies = list(script), []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                step = hook.script.pop(0) if hook.script else 200
                if isinstance(step, tuple):
                    time.sleep(step[1])
                    step = 200
                self.send_response(step)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if step == 200 else b'{"ok": false}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["duckdb", "postgres", "snowflake"])
def target(request, target_env) -> str:
    """Recording and delivering alerts on each engine, the Snowflake emulator included: a fresh warehouse."""
    return target_env(request.param)


def _row(target, alert_id):
    with Warehouse(target) as wh:
        return wh.query(f"select sent, attempts, last_error, sent_at from meta.etl_alerts where alert_id = {wh.param}",
                        [alert_id])[0]


# --- recording and the notifier --------------------------------------------------------------------

def test_record_without_url_only_records(target, monkeypatch):
    monkeypatch.delenv("DQ_ALERT_WEBHOOK_URL", raising=False)
    a = alerts.run_failed(target, "run-1", D, "CONNECTIVITY", "warehouse unreachable", {"step": "rdv"})
    again = alerts.record_alert(target, "ZERO_ROWS", "ZERO_ROWS", D, "no rows", table="rdv.l_contact", layer="rdv")
    listed = alerts.list_alerts(target)
    assert {x.alert_id for x in listed} == {a.alert_id, again.alert_id}
    got = next(x for x in listed if x.alert_id == a.alert_id)
    assert (got.kind, got.reason_code, got.business_date, got.run_id) == ("RUN_FAILED", "CONNECTIVITY", D, "run-1")
    assert got.details == {"run_id": "run-1", "step": "rdv"}
    assert (got.sent, got.attempts, got.last_error) == (False, 0, None)
    with pytest.raises(ValueError):
        alerts.record_alert(target, "RUN_FAILED", "NOT_A_CODE", D, "x")
    with pytest.raises(ValueError):
        alerts.record_alert(target, "SMOKE_FAILED", "SMOKE_FAILED", D, "a code is not a kind")


def test_notifier_posts_slack_and_telegram_payload(target):
    with Webhook([200]) as hook:
        notifier = alerts.Notifier(url=hook.url, chat_id="-100123", timeout=2, retries=2, backoff=0.01)
        a = alerts.run_failed(target, "run-2", D, "TRANSFORM_ERROR", "c360 failed", notify=False)
        with Warehouse(target) as wh:
            notifier.deliver(wh, a)
    assert len(hook.bodies) == 1
    body = hook.bodies[0]
    assert set(body) == {"text", "chat_id"}  # only what Slack (text) and Telegram (chat_id + text) document
    assert body["chat_id"] == "-100123"
    assert "RUN_FAILED" in body["text"] and "TRANSFORM_ERROR" in body["text"] and "2026-01-03" in body["text"]
    sent, attempts, last_error, sent_at = _row(target, a.alert_id)
    assert (bool(sent), attempts, last_error) == (True, 1, None) and sent_at is not None

    with Webhook([200]) as hook:  # a generic receiver gets the structured alert too
        full = alerts.Notifier(url=hook.url, timeout=2, retries=0, full=True)
        assert full.send(a).sent
    assert set(hook.bodies[0]) == {"text", "alert"} and hook.bodies[0]["alert"]["alert_id"] == a.alert_id


def test_notifier_retries_with_backoff_until_the_server_recovers(target):
    delays: list[float] = []
    with Webhook([500, 503, 200]) as hook:
        notifier = alerts.Notifier(url=hook.url, timeout=2, retries=3, backoff=0.05, sleep=delays.append)
        a = alerts.record_alert(target, "ANOMALY", "ANOMALY", D, "negative revenue", notifier=notifier)
    assert len(hook.bodies) == 3
    assert delays == [0.05, 0.1]  # exponential: backoff, then doubled
    assert (a.sent, a.attempts) == (True, 3)
    sent, attempts, last_error, _ = _row(target, a.alert_id)
    assert (bool(sent), attempts, last_error) == (True, 3, None)


def test_notifier_gives_up_after_bounded_retries_on_timeout(target):
    with Webhook([("sleep", 1.5), ("sleep", 1.5)]) as hook:
        notifier = alerts.Notifier(url=hook.url, timeout=0.3, retries=1, backoff=0.01)
        t0 = time.monotonic()
        a = alerts.record_alert(target, "ZERO_ROWS", "ZERO_ROWS", D, "no contacts", notifier=notifier)
        elapsed = time.monotonic() - t0
    assert len(hook.bodies) == 2  # the first try and one retry, no more
    assert elapsed < 1.5  # each try was cut at the timeout
    assert (a.sent, a.attempts) == (False, 2) and "timed out" in a.last_error.lower()
    sent, attempts, last_error, sent_at = _row(target, a.alert_id)
    assert (bool(sent), attempts, sent_at) == (False, 2, None) and "timed out" in last_error.lower()


def test_client_error_is_not_retried():
    with Webhook([400, 200]) as hook:
        res = alerts.Notifier(url=hook.url, timeout=2, retries=3, backoff=0.01).send(
            alerts.Alert("x", "ANOMALY", "ANOMALY", D, "m"))
    assert (res.sent, res.attempts, res.status) == (False, 1, 400) and len(hook.bodies) == 1


# --- detection on a built warehouse ----------------------------------------------------------------

SETTINGS = alerts.AnomalySettings(window=7, band=0.5, min_history=2)  # the built warehouse has 3 dates


def test_clean_day_raises_no_alert(built_target):
    rep = alerts.check(built_target, D, SETTINGS, notify=False)
    assert rep.ok, [f for f in rep.findings if f.status == "ALERT"]
    checked = {(f.check, f.table) for f in rep.findings if f.status == "OK"}
    assert ("zero_rows", "rdv.l_contact") in checked and ("row_count_band", "rdv.l_contact") in checked
    assert ("negative_revenue", "cdm_publish.customer_360_v1") in checked
    assert alerts.list_alerts(built_target) == []


def test_zero_rows_anomaly_and_negative_revenue_are_detected_once(built_target):
    with Warehouse(built_target) as wh:
        p = wh.param
        wh.execute(f"delete from rdv.l_contact where business_date = {p}", [D])  # the vault lost the day
        keep = wh.scalar(f"select min(_row_number) from ldz.ldz_ua_contacthistory where _business_date = {p}", [D])
        wh.execute(f"delete from ldz.ldz_ua_contacthistory where _business_date = {p} and _row_number > {p}",
                   [D, keep + 99])  # ~100 of ~1,040 rows: far below the trailing median
        wh.execute(f"update rdv.l_response set revenue = -10 where business_date = {p}", [D])
    rep = alerts.check(built_target, D, SETTINGS, notify=False)
    breaches = {(f.check, f.table, f.reason_code) for f in rep.breaches}
    assert ("zero_rows", "rdv.l_contact", "ZERO_ROWS") in breaches
    assert ("row_count_band", "ldz.ldz_ua_contacthistory", "ANOMALY") in breaches
    assert ("negative_revenue", "rdv.l_response", "ANOMALY") in breaches
    assert ("zero_rows", "ldz.ldz_ua_contacthistory", "ZERO_ROWS") not in breaches  # fewer rows, not none
    kinds = sorted((a.kind, a.table_name) for a in rep.alerts)
    assert ("ZERO_ROWS", "rdv.l_contact") in kinds and ("ANOMALY", "rdv.l_response") in kinds
    assert len(rep.alerts) == len(rep.breaches)

    again = alerts.check(built_target, D, SETTINGS, notify=False)  # rerun-safe: nothing recorded twice
    assert again.alerts == [] and again.already_recorded == len(rep.alerts)
    assert len(alerts.list_alerts(built_target, last=100)) == len(rep.alerts)

    from dbt_project.plan import plan  # open alerts: dq plan names one, with its action, and holds the date

    p = plan(built_target, D)
    assert (p.reason_code, p.checklist["downstream_decision"]) in {("ZERO_ROWS", "hold"), ("ANOMALY", "hold")}, p
    assert p.action == {"ZERO_ROWS": "rerun", "ANOMALY": "escalate"}[p.reason_code] and "dq alerts ack" in p.why
    alerts.acknowledge(built_target, [a.alert_id for a in rep.alerts], "looked into: a test")
    after = plan(built_target, D)  # no longer about the alerts (the built warehouse was never validated: build)
    assert after.reason_code is None and "alert" not in after.why, after
    wider = alerts.check(built_target, D, dataclasses.replace(SETTINGS, band=SETTINGS.band * 0.99), notify=False)
    assert wider.ok and wider.alerts == []  # other numbers in the message: the same, acknowledged breach


def test_cli_alerts_check_and_list(built_target, monkeypatch):
    monkeypatch.delenv("DQ_ALERT_WEBHOOK_URL", raising=False)
    clean = invoke("alerts", "check", "--date", "2026-01-03", "--min-history", "2", "--target", built_target,
                   "--json")
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.output)["ok"] is True

    empty = invoke("alerts", "check", "--date", "2026-01-04", "--target", built_target, "--json")  # never landed
    assert empty.exit_code == 1
    doc = json.loads(empty.output)
    assert {a["reason_code"] for a in doc["alerts"]} == {"ZERO_ROWS"}

    listed = invoke("alerts", "--last", "3", "--target", built_target, "--json")
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert len(rows) == 3 and all(r["kind"] == "ZERO_ROWS" and r["sent"] is False for r in rows)
    table = invoke("alerts", "--target", built_target)
    assert table.exit_code == 0 and "ZERO_ROWS" in table.output
    assert "DQ_ALERT_WEBHOOK_URL" in invoke("alerts", "--help").output

    # accepted after a look (here: the date is not a business day): the check no longer fails for them
    ids = [r["alert_id"] for r in json.loads(invoke("alerts", "--date", "2026-01-04", "--target", built_target,
                                                    "--json").output)]
    assert invoke("alerts", "ack", "abc", "--note", "x", "--target", built_target).exit_code == 2  # too short
    acked = invoke("alerts", "ack", *[i[:8] for i in ids], "--note", "no business on the 4th", "--target",
                   built_target, "--json")
    assert acked.exit_code == 0, acked.output
    assert {(a["alert_id"], a["ack_note"]) for a in json.loads(acked.output)} == {
        (i, "no business on the 4th") for i in ids}
    again = invoke("alerts", "check", "--date", "2026-01-04", "--target", built_target, "--json")
    assert again.exit_code == 0, again.output
    doc = json.loads(again.output)
    assert doc["acknowledged"] == len(ids) and doc["alerts"] == []
    assert {f["status"] for f in doc["findings"] if f["reason_code"] == "ZERO_ROWS"} == {"ACKNOWLEDGED"}
    listed = json.loads(invoke("alerts", "--date", "2026-01-04", "--target", built_target, "--json").output)
    assert all(a["acknowledged_at"] and a["ack_note"] == "no business on the 4th" for a in listed)
    table = invoke("alerts", "--date", "2026-01-04", "--target", built_target).output
    assert all(i[:8] in table for i in ids)  # the ids to acknowledge by
    # each message whole, on one line under the table (in a column it folded the table), whatever the width
    lines = table.splitlines()
    assert all(f"  {a['alert_id'][:8]}: {' '.join(a['message'].split())}" in lines for a in listed), table
