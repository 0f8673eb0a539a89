"""Alert sensors: failed runs, failed gates and delivery checks, freshness failures.

How alerts are worded and sent is in orchestration/alerts.py; the channels come from the
environment. The sensors run by default: with no channel configured they only log.
"""

import json

import dagster as dg

# Not exported at the top level in Dagster 1.13; the daemon records these states.
from dagster._core.definitions.freshness import FreshnessState

from orchestration.alerts import (
    AlertSettings,
    check_failure_alert,
    freshness_alert,
    notify,
    run_failure_alert,
)
from orchestration.factories.ingestion_assets import ACCEPTED_CHECK, UP_TO_DATE_CHECK

# Delivery checks that alert although they only warn: a rejected or held file (its period's
# own verdict, emitted by the run that met it) and a body behind the region.
DELIVERY_CHECKS = {ACCEPTED_CHECK, UP_TO_DATE_CHECK}


def root_cause(error) -> str:
    """The innermost error's own message: Dagster wraps a step's exception in "Error occurred
    while executing op ..."; the on-call person needs what the code raised."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip()}" if error.cls_name else error.message


def alerts_for_evaluation(evaluation) -> bool:
    if evaluation.passed:
        return False
    if evaluation.check_name == ACCEPTED_CHECK:
        # The whole-ledger verdict repeats at every load while a file awaits correction; the
        # partition's verdict comes once, from the run that rejected or held the file.
        return evaluation.partition is not None
    return bool(evaluation.blocking) or evaluation.check_name in DELIVERY_CHECKS


def alert_failed_checks(context: dg.RunStatusSensorContext, settings: AlertSettings) -> int:
    """Alerts for the failed gates and delivery checks of the run the sensor was told about
    (read per run: the default SQLite storage cannot page through all runs' events)."""
    records = context.instance.get_records_for_run(
        context.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    sent = 0
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if alerts_for_evaluation(evaluation):
            alert = check_failure_alert(evaluation, context.dagster_run.run_id, settings.ui_url)
            notify(alert, settings, context.log)
            sent += 1
    return sent


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="E-mails and posts to the webhook when a run fails, with each failed step's "
    "own error, and for each blocking gate that failed in it.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext):
    settings = AlertSettings.from_env()
    steps = [
        (event.step_key or "?", root_cause(event.step_failure_data.error))
        for event in context.get_step_failure_events()
    ]
    alert = run_failure_alert(
        context.dagster_run, steps, context.failure_event.message or "run failed", settings.ui_url
    )
    outcome = notify(alert, settings, context.log)
    checks = alert_failed_checks(context, settings)
    context.log.info(f"{alert.title}: {outcome or 'no channel configured'}; {checks} check(s)")


@dg.run_status_sensor(
    name="check_failure_alerts",
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="E-mails and posts to the webhook when a run that succeeded met a failed gate, "
    "a rejected or held delivery, or a body behind the region.",
)
def check_failure_alerts(context: dg.RunStatusSensorContext):
    alert_failed_checks(context, AlertSettings.from_env())


@dg.sensor(
    name="freshness_alerts",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="E-mails and posts to the webhook when an asset's freshness policy fails (a "
    "body's delivery overdue past its grace, marts not republished by the nightly build).",
)
def freshness_alerts(context: dg.SensorEvaluationContext):
    """Alerts once when an asset's freshness turns FAIL (the daemon evaluates the policies);
    the cursor holds the assets already failing, so it alerts again only after a recovery."""
    keys = [
        node.key
        for node in context.repository_def.asset_graph.asset_nodes
        if node.freshness_policy is not None
    ]
    states = context.instance.get_freshness_state_records(keys)
    failing = {
        key.to_user_string()
        for key, record in states.items()
        if record.freshness_state == FreshnessState.FAIL
    }
    already = set(json.loads(context.cursor)) if context.cursor else set()
    settings = AlertSettings.from_env()
    for key in sorted(failing - already):
        record = states[dg.AssetKey.from_user_string(key)]
        notify(freshness_alert(record, settings.ui_url), settings, context.log)
    context.update_cursor(json.dumps(sorted(failing)))
    return dg.SkipReason(f"{len(failing - already)} new freshness failure(s) of {len(keys)}")


defs = dg.Definitions(sensors=[run_failure_alerts, check_failure_alerts, freshness_alerts])
