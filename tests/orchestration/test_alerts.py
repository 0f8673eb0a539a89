"""Alerts reach a real SMTP server and a real HTTP endpoint, both started by the test: a failed
run (with its step's own error), a failed blocking gate, a rejected delivery's partition verdict
and a freshness failure; passed checks and history from before the sensor started do not."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from orchestration.defs.alerts import check_failure_alerts, freshness_alerts, run_failure_alerts
from orchestration.factories.ingestion_assets import ACCEPTED_CHECK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    mails: list = field(default_factory=list)
    posts: list = field(default_factory=list)


class _Mailbox:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.inbox.mails.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture()
def inbox(monkeypatch) -> Iterator[Inbox]:
    received = Inbox()
    smtp_port = free_port()
    smtp = Controller(_Mailbox(received), hostname="127.0.0.1", port=smtp_port)
    smtp.start()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.posts.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    monkeypatch.setenv("JIGSAW_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JIGSAW_ALERT_SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("JIGSAW_ALERT_EMAIL_TO", "oncall@example.org, lead@example.org")
    monkeypatch.setenv("JIGSAW_ALERT_EMAIL_FROM", "jigsaw@example.org")
    monkeypatch.setenv("JIGSAW_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{http.server_port}/hook")
    monkeypatch.setenv("JIGSAW_DAGSTER_UI_URL", "http://ui.example:3000")
    try:
        yield received
    finally:
        http.shutdown()
        smtp.stop()


@dg.asset
def broken_extract():
    raise ValueError("incidents_2026-03.csv: column INCIDENT_NO missing")


@dg.asset
def a_mart():
    return 1


@dg.asset_check(asset=a_mart, blocking=True)
def no_clear_identifiers():
    return dg.AssetCheckResult(passed=False, description="column surname holds names")


@dg.asset_check(asset=a_mart)
def rows_present():
    return dg.AssetCheckResult(passed=True)


@dg.asset
def raw_incidents(context):
    context.log_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("raw_incidents"),
            check_name=ACCEPTED_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            partition="2026-03",
            description="police/2026-04-03/incidents_2026-03.csv rejected: empty file",
        )
    )


@dg.asset_check(asset=raw_incidents, name=ACCEPTED_CHECK)
def accepted():
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


def test_a_failed_run_alerts_by_mail_and_webhook_with_the_steps_own_error(inbox):
    with dg.instance_for_test() as instance:
        result = dg.materialize([broken_extract], instance=instance, raise_on_error=False)
        assert not result.success
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
        ).for_run_failure()
        run_failure_alerts(context)

    [(recipients, mail)] = inbox.mails
    assert recipients == ["oncall@example.org", "lead@example.org"]
    assert "failed" in mail["Subject"] and mail["From"] == "jigsaw@example.org"
    body = mail.get_payload(decode=True).decode()
    assert "incidents_2026-03.csv: column INCIDENT_NO missing" in body
    assert "Traceback" not in body
    assert f"http://ui.example:3000/runs/{result.run_id}" in body
    [post] = inbox.posts
    assert post["kind"] == "run_failure" and post["link"].endswith(result.run_id)
    assert any("column INCIDENT_NO missing" in line for line in post["lines"])


def _after(instance: dg.DagsterInstance, result, sensor) -> None:
    """Tells a run status sensor about a finished run, as the daemon does."""
    run = instance.get_run_by_id(result.run_id)
    event = result.get_run_failure_event() if not result.success else result.get_run_success_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=event, dagster_instance=instance, dagster_run=run
    )
    sensor(context.for_run_failure() if not result.success else context)


def test_failed_gates_and_rejected_deliveries_alert_and_passes_do_not(inbox):
    with dg.instance_for_test() as instance:
        gated = dg.materialize(
            [a_mart, no_clear_identifiers, rows_present], instance=instance, raise_on_error=False
        )
        assert not gated.success  # the blocking gate failed the run
        _after(instance, gated, run_failure_alerts)
        rejected = dg.materialize([raw_incidents, accepted], instance=instance)
        assert rejected.success  # a rejected file does not fail the run, but it alerts
        _after(instance, rejected, check_failure_alerts)

    titles = [post["title"] for post in inbox.posts]
    assert titles == [
        "Run of __ephemeral_asset_job__ failed",
        "Blocking gate failed: a_mart no_clear_identifiers",
        f"Check failed: raw_incidents {ACCEPTED_CHECK} [2026-03]",
    ]  # rows_present passed; the whole-ledger deliveries_accepted verdict repeats, not alerted
    assert "column surname holds names" in " ".join(inbox.posts[1]["lines"])
    assert "empty file" in " ".join(inbox.posts[2]["lines"])
    assert [m["Subject"] for _, m in inbox.mails] == [f"[jigsaw] {t}" for t in titles]


def test_a_freshness_failure_alerts_once(inbox):
    spec = dg.AssetSpec(
        ["raw_police", "incidents"],
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(days=45)),
    )
    repository = dg.Definitions(assets=[spec]).get_repository_def()
    with dg.instance_for_test() as instance:

        def tick(cursor):
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, repository_def=repository
            )
            freshness_alerts(context)
            return context.cursor

        cursor = tick(None)
        assert inbox.posts == []
        # As the Dagster daemon records a change of state.
        instance._report_runless_asset_event(  # noqa: SLF001
            FreshnessStateChange(
                key=spec.key,
                new_state=FreshnessState.FAIL,
                previous_state=FreshnessState.WARN,
                state_change_timestamp=1.0,
            )
        )
        cursor = tick(cursor)
        tick(cursor)  # still failing: not alerted again

    [post] = inbox.posts
    assert post["title"] == "Not fresh: raw_police/incidents"
    assert "freshness: FAIL" in " ".join(post["lines"])
    [(_, mail)] = inbox.mails
    assert mail["Subject"] == "[jigsaw] Not fresh: raw_police/incidents"


def test_a_broken_channel_does_not_silence_the_other(inbox, monkeypatch):
    monkeypatch.setenv("JIGSAW_ALERT_SMTP_PORT", str(free_port()))  # nobody listens there
    from orchestration.alerts import Alert, notify

    outcome = notify(Alert("check_failure", "t", ("x",), "http://ui"))
    assert outcome["webhook"] == "sent"
    assert outcome["email"].startswith("failed: ConnectionRefusedError")
    assert len(inbox.posts) == 1
