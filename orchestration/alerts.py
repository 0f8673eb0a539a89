"""Alerts for the on-call person: by e-mail (SMTP) and by webhook (HTTP POST of JSON).

Three sensors (orchestration/defs/alerts.py) raise them:

- ``run_failure_alerts``: any run of this code location that fails, with each failed step's
  own error message (not the stack trace);
- ``check_failure_alerts``: a failed blocking gate, and a failed delivery check (a file
  rejected or held, a body behind the region: ``DELIVERY_CHECKS``);
- ``freshness_alerts``: an asset whose freshness policy (orchestration/policies.py) turned
  FAIL (the Dagster daemon evaluates the policies and records the state changes).

Channels come from the environment only (see ``.env.example``); a channel that is not
configured is skipped, and a channel that fails does not stop the others. Passwords are never
logged.
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

import dagster as dg

DEFAULT_UI_URL = "http://127.0.0.1:3000"
WEBHOOK_TIMEOUT_SECONDS = 10
SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go, from JIGSAW_ALERT_* environment variables."""

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    email_from: str = "jigsaw@localhost"
    email_to: tuple[str, ...] = ()
    webhook_url: str = ""
    ui_url: str = DEFAULT_UI_URL

    @classmethod
    def from_env(cls) -> AlertSettings:
        env = os.environ.get
        return cls(
            smtp_host=env("JIGSAW_ALERT_SMTP_HOST", ""),
            smtp_port=int(env("JIGSAW_ALERT_SMTP_PORT") or 25),
            smtp_user=env("JIGSAW_ALERT_SMTP_USER", ""),
            smtp_password=env("JIGSAW_ALERT_SMTP_PASSWORD", ""),
            smtp_starttls=(env("JIGSAW_ALERT_SMTP_STARTTLS", "") or "").lower()
            in ("1", "true", "yes"),
            email_from=env("JIGSAW_ALERT_EMAIL_FROM") or cls.email_from,
            email_to=tuple(
                a.strip() for a in (env("JIGSAW_ALERT_EMAIL_TO") or "").split(",") if a.strip()
            ),
            webhook_url=env("JIGSAW_ALERT_WEBHOOK_URL", ""),
            ui_url=(env("JIGSAW_DAGSTER_UI_URL") or DEFAULT_UI_URL).rstrip("/"),
        )

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.email_to)

    @property
    def channels(self) -> list[str]:
        return [c for c, on in (("email", self.email_enabled), ("webhook", self.webhook_url)) if on]


@dataclass(frozen=True)
class Alert:
    """One notification: what happened, where to look, and the facts, one per line."""

    kind: str  # run_failure | check_failure | freshness
    title: str
    lines: tuple[str, ...]
    link: str

    def text(self) -> str:
        return "\n".join([self.title, "", *self.lines, "", f"Open in Dagster: {self.link}"])


def send_email(alert: Alert, settings: AlertSettings) -> None:
    message = EmailMessage()
    message["Subject"] = f"[jigsaw] {alert.title}"
    message["From"] = settings.email_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(alert.text())
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def send_webhook(alert: Alert, settings: AlertSettings) -> None:
    body = json.dumps({**asdict(alert), "text": alert.text()}).encode()
    request = urllib.request.Request(
        settings.webhook_url,
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read()


SENDERS = {"email": send_email, "webhook": send_webhook}


def notify(alert: Alert, settings: AlertSettings | None = None, log=None) -> dict[str, str]:
    """Sends ``alert`` on every configured channel; returns channel -> "sent" or the error."""
    settings = settings or AlertSettings.from_env()
    outcome = {}
    for channel in settings.channels:
        try:
            SENDERS[channel](alert, settings)
            outcome[channel] = "sent"
        except Exception as exc:  # one broken channel must not silence the other
            outcome[channel] = f"failed: {type(exc).__name__}: {exc}"
            if log:
                log.error(f"alert not sent by {channel}: {outcome[channel]}")
    if log and not settings.channels:
        log.warning(f"no alert channel configured; would have sent: {alert.title}")
    return outcome


# --- what each sensor turns into an alert -------------------------------------------------


def run_failure_alert(
    run: dg.DagsterRun, step_errors: list[tuple[str, str]], reason: str, ui_url: str
) -> Alert:
    lines = [f"job: {run.job_name}", f"run: {run.run_id}"]
    if run.tags.get("dagster/partition"):
        lines.append(f"partition: {run.tags['dagster/partition']}")
    lines += [f"step {step}: {message}" for step, message in step_errors] or [f"cause: {reason}"]
    return Alert(
        kind="run_failure",
        title=f"Run of {run.job_name} failed",
        lines=tuple(lines),
        link=f"{ui_url}/runs/{run.run_id}",
    )


def check_failure_alert(evaluation, run_id: str, ui_url: str) -> Alert:
    key = evaluation.asset_key.to_user_string()
    where = f" [{evaluation.partition}]" if evaluation.partition else ""
    blocking = "blocking gate" if evaluation.blocking else "check"
    lines = [
        f"asset: {key}{where}",
        f"check: {evaluation.check_name} ({evaluation.severity.value}, {blocking})",
        f"reason: {evaluation.description or 'see the check metadata'}",
    ]
    if run_id:
        lines.append(f"run: {run_id}")
    return Alert(
        kind="check_failure",
        title=f"{blocking.capitalize()} failed: {key} {evaluation.check_name}{where}",
        lines=tuple(lines),
        link=f"{ui_url}/assets/{'/'.join(evaluation.asset_key.path)}?view=checks",
    )


def freshness_alert(record, ui_url: str) -> Alert:
    """From a FreshnessStateRecord the daemon wrote when the asset's policy failed."""
    key = record.entity_key.to_user_string()
    return Alert(
        kind="freshness",
        title=f"Not fresh: {key}",
        lines=(
            f"asset: {key}",
            f"freshness: {record.freshness_state.value} "
            f"since {record.updated_at:%Y-%m-%d %H:%M} UTC",
            "a due delivery or the nightly build has not arrived within its window",
        ),
        link=f"{ui_url}/assets/{'/'.join(record.entity_key.path)}",
    )
