"""Failed loads, retries, shrinking re-deliveries held for review, reinstatement and the
operator CLI, on a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import psycopg
import pytest

from ingestion import ledger as ledger_queries
from ingestion.cli import main as cli
from ingestion.folder_load import load_landing
from ingestion.pseudonymise import KEY_VARIABLE
from orchestration.cli.landing_runs import materialize_landing
from orchestration.cli.settings import demo_key_allowed
from orchestration.factories.ingestion_assets import (
    APPLIED_CHECK,
    build_ingestion_defs,
)
from orchestration.resources import PostgresResource
from tests.ingestion import deliveries as d


def police(specs):
    return [s for s in specs if s.body == "police"]


def status(db: psycopg.Connection, delivery_id: str) -> tuple:
    return db.execute(
        "select status, rows_loaded, attempts, error from ingestion.deliveries"
        " where delivery_id = %s",
        (delivery_id,),
    ).fetchone()


def period_rows(db: psycopg.Connection, period: str) -> int:
    return db.execute(
        "select count(*) from raw_police.incidents where _period = %s", (period,)
    ).fetchone()[0]


def raw_ids(db: psycopg.Connection) -> set[str]:
    rows = db.execute("select distinct _delivery_id from raw_police.incidents__lineage").fetchall()
    return {r[0] for r in rows}


def test_an_unexpected_error_is_recorded_as_failed_and_the_run_goes_on(db, db_url, landing, specs):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1, RISK="high")])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(2, RISK="medium")])
    load_landing(db_url, landing / "none", police(specs))  # creates the tables, loads nothing
    # A constraint the loader knows nothing of: PostgreSQL refuses the COPY mid-file.
    db.execute(
        "alter table raw_police.incidents add constraint no_high check (risk_grade <> 'high')"
    )
    summary = load_landing(db_url, landing, police(specs))
    assert summary.by_status == {"failed": 1, "loaded": 1}
    [failed] = summary.failed
    assert failed.delivery_id == "police/2026-02-03/incidents_2026-01.csv"
    assert (
        "CheckViolation while loading" in failed.error and "incidents_2026-01.csv" in failed.error
    )
    assert "FAILED police/2026-02-03/incidents_2026-01.csv" in summary.describe()
    state, loaded, attempts, error = status(db, failed.delivery_id)
    assert (state, loaded, attempts) == ("failed", None, 1) and "no_high" in error
    assert raw_ids(db) == {"police/2026-03-03/incidents_2026-02.csv"}  # nothing partial
    assert db.execute("select count(*) from identity.person_records").fetchone()[0] == 1
    started, finished = db.execute(
        "select started_at, finished_at from ingestion.deliveries where delivery_id = %s",
        (failed.delivery_id,),
    ).fetchone()
    assert started < finished

    # Not before its backoff: the next run leaves it alone.
    again = load_landing(db_url, landing, police(specs))
    assert again.by_status == {"already_recorded": 2}
    # Once due, it is tried again; still failing, its attempts count up and the wait doubles.
    db.execute("update ingestion.deliveries set next_attempt_at = now() - interval '1 s'")
    assert load_landing(db_url, landing, police(specs)).by_status["failed"] == 1
    state, _, attempts, _ = status(db, failed.delivery_id)
    wait = db.execute(
        "select next_attempt_at - finished_at from ingestion.deliveries where delivery_id = %s",
        (failed.delivery_id,),
    ).fetchone()[0]
    assert attempts == 2 and abs(wait - 2 * ledger_queries.RETRY_BACKOFF).total_seconds() < 1
    # The cause is fixed; the next due attempt loads it.
    db.execute("alter table raw_police.incidents drop constraint no_high")
    db.execute("update ingestion.deliveries set next_attempt_at = now() - interval '1 s'")
    assert load_landing(db_url, landing, police(specs)).by_status == {
        "loaded": 1,
        "already_recorded": 1,
    }
    assert status(db, failed.delivery_id)[:3] == ("loaded", 1, 3)
    assert len(raw_ids(db)) == 2


def test_retries_are_bounded_and_then_wait_for_an_operator(db, db_url, landing, specs):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1, RISK="high")])
    load_landing(db_url, landing / "none", police(specs))
    db.execute(
        "alter table raw_police.incidents add constraint no_high check (risk_grade <> 'high')"
    )
    for _ in range(ledger_queries.MAX_ATTEMPTS + 1):
        load_landing(db_url, landing, police(specs))
        db.execute("update ingestion.deliveries set next_attempt_at = now() - interval '1 s'")
    delivery = "police/2026-02-03/incidents_2026-01.csv"
    assert status(db, delivery)[:3] == ("failed", None, ledger_queries.MAX_ATTEMPTS)
    assert ledger_queries.retries_due(db, "police") == {}
    [(waiting, state, cause)] = ledger_queries.not_applied(db, "police", "incidents")
    assert (waiting, state) == (delivery, "failed") and "no attempt left" in cause
    # The operator fixes the cause and reinstates it by hand.
    db.execute("alter table raw_police.incidents drop constraint no_high")
    assert cli(["deliveries", "reinstate", delivery, "--by", "ops", "--landing", str(landing)]) == 0
    assert status(db, delivery)[:2] == ("loaded", 1)


def test_the_sensor_requests_a_failed_load_again_under_a_new_run_key(db, db_url, landing, specs):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1, RISK="high")])
    load_landing(db_url, landing / "none", police(specs))
    db.execute(
        "alter table raw_police.incidents add constraint no_high check (risk_grade <> 'high')"
    )
    sensor = build_ingestion_defs(police(specs), landing).resolve_sensor_def(
        "police__deliveries_sensor"
    )
    resources = {"database": PostgresResource(url=db_url)}

    def tick(instance, cursor=None):
        with dg.build_sensor_context(
            instance=instance, resources=resources, cursor=cursor
        ) as context:
            return sensor(context)

    with dg.instance_for_test() as instance:
        first = tick(instance)
        [request] = first.run_requests
        load_landing(db_url, landing, police(specs))  # the run: it fails
        assert tick(instance, first.cursor).run_requests == []  # backoff not over
        db.execute("update ingestion.deliveries set next_attempt_at = now() - interval '1 s'")
        [retry] = tick(instance, first.cursor).run_requests
        assert retry.partition_key == "2026-01" and retry.run_key != request.run_key
        load_landing(db_url, landing, police(specs))  # fails again: attempt 2
        db.execute("update ingestion.deliveries set next_attempt_at = now() - interval '1 s'")
        [third] = tick(instance, first.cursor).run_requests
        assert third.run_key not in (request.run_key, retry.run_key)


SHRINK_CASES = {
    # rows in the correction: held? (the spec's tolerance for incidents is the default, 50 %)
    0: True,
    4: True,
    5: False,
    12: False,
}


@pytest.mark.parametrize(("rows", "held"), sorted(SHRINK_CASES.items()))
def test_a_redelivery_shrinking_its_period_too_far_is_held(db, db_url, landing, specs, rows, held):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(10)])
    d.police_file(landing, "2026-02-10", "2026-01", [d.police_row(i) for i in range(rows)])
    summary = load_landing(db_url, landing, police(specs))
    correction = "police/2026-02-10/incidents_2026-01.csv"
    result = next(r for r in summary.results if r.delivery_id == correction)
    if not held:
        assert result.status == "loaded" and raw_ids(db) == {correction}
        return
    assert result.status == "held_for_review"
    assert f"would replace 10 rows of police/2026-02-03/incidents_2026-01.csv with {rows}" in (
        result.error
    )
    state, loaded, _, _ = status(db, correction)
    assert (state, loaded) == ("held_for_review", rows)
    assert raw_ids(db) == {"police/2026-02-03/incidents_2026-01.csv"}  # nothing removed
    assert db.execute("select count(*) from raw_police.incidents").fetchone()[0] == 10


def test_an_operator_approves_or_discards_a_held_delivery(db, db_url, landing, specs, capsys):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(10)])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(i) for i in range(10)])
    d.police_file(landing, "2026-02-10", "2026-01", [])  # header only: would empty the period
    d.police_file(landing, "2026-03-10", "2026-02", [d.police_row(1)])
    assert cli(["load", "--landing", str(landing)]) == 0
    out = capsys.readouterr().out
    assert "held for review police/2026-02-10/incidents_2026-01.csv" in out
    assert cli(["deliveries", "list", "--status", "held_for_review"]) == 0
    listed = capsys.readouterr().out
    assert "police/2026-02-10/incidents_2026-01.csv" in listed
    assert "police/2026-03-10/incidents_2026-02.csv" in listed

    emptied = "police/2026-02-10/incidents_2026-01.csv"
    args = ["--by", "alice", "--landing", str(landing)]
    assert cli(["deliveries", "approve", emptied, *args]) == 0
    assert status(db, emptied)[:2] == ("loaded", 0)
    who = db.execute(
        "select decided_by, decided_at is not null from ingestion.deliveries"
        " where delivery_id = %s",
        (emptied,),
    ).fetchone()
    assert who == ("alice", True)
    assert period_rows(db, "2026-01") == 0

    shrunk = "police/2026-03-10/incidents_2026-02.csv"
    assert cli(["deliveries", "discard", shrunk, "--by", "bob"]) == 0
    assert status(db, shrunk)[0] == "discarded"
    assert period_rows(db, "2026-02") == 10
    # A decision is made once: the discarded delivery cannot be approved.
    assert cli(["deliveries", "approve", shrunk, "--landing", str(landing)]) == 2
    assert "is discarded" in capsys.readouterr().err


def test_the_original_bytes_sent_again_reinstate_the_period(db, db_url, landing, specs):
    original = d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(10)])
    d.police_file(
        landing, "2026-02-10", "2026-01", [d.police_row(i, RISK="medium") for i in range(8)]
    )
    again = d.folder(landing, "police", "2026-02-17") / original.name
    again.write_bytes(original.read_bytes())
    summary = load_landing(db_url, landing, police(specs))
    assert [r.status for r in summary.results] == ["loaded", "loaded", "loaded"]
    reinstated = "police/2026-02-17/incidents_2026-01.csv"
    assert (
        summary.results[-1].error
        == "reinstates police/2026-02-03/incidents_2026-01.csv (same bytes)"
    )
    assert raw_ids(db) == {reinstated}
    assert db.execute("select count(*), min(risk_grade) from raw_police.incidents").fetchone() == (
        10,
        "high",
    )
    assert status(db, "police/2026-02-10/incidents_2026-01.csv")[0] == "superseded"
    # And an operator can reinstate the correction by hand.
    correction = "police/2026-02-10/incidents_2026-01.csv"
    args = ["--by", "carol", "--landing", str(landing)]
    assert cli(["deliveries", "reinstate", correction, *args]) == 0
    assert raw_ids(db) == {correction}
    state, loaded, _, note = status(db, correction)
    assert (state, loaded) == ("loaded", 8) and "applied by carol" in note


def test_without_a_key_the_cli_says_so_in_one_line(db_url, landing, specs):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
    completed = subprocess.run(
        [sys.executable, "-m", "ingestion", "load", "--landing", str(landing)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    lines = [
        line for line in completed.stderr.splitlines() if not line.startswith("jigsaw: database")
    ]
    assert len(lines) == 1 and KEY_VARIABLE in lines[0] and "Traceback" not in completed.stderr


def test_the_demo_key_is_only_for_the_demos_own_database(db, db_url, landing, specs):
    assert demo_key_allowed(db_url)  # empty: the demo may claim it
    assert demo_key_allowed(db_url)  # and once marked, it stays the demo's
    db.execute(f"comment on database {db.info.dbname} is null")  # forget the demo's mark
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    load_landing(db_url, landing, police(specs))
    assert not demo_key_allowed(db_url)  # deliveries loaded by someone else: the key is needed


def test_a_dagster_run_says_which_delivery_failed_and_loads_the_others(db, db_url, landing, specs):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1, RISK="high")])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(2, RISK="medium")])
    load_landing(db_url, landing / "none", police(specs))
    db.execute(
        "alter table raw_police.incidents add constraint no_high check (risk_grade <> 'high')"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        summary = materialize_landing(instance, police(specs), landing)
        assert summary.succeeded == {"police": False}  # the blocking check names the file
        records = instance.get_records_for_run(
            summary.runs["police"], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        checks = {
            e.check_name: e
            for e in (r.event_log_entry.dagster_event.event_specific_data for r in records)
        }
        materialized = instance.get_records_for_run(
            summary.runs["police"], of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        by_period = {
            m.partition: {k: v.value for k, v in m.metadata.items()}
            for m in (r.event_log_entry.asset_materialization for r in materialized)
        }
    failed = "police/2026-02-03/incidents_2026-01.csv"
    assert not checks[APPLIED_CHECK].passed and failed in checks[APPLIED_CHECK].description
    # Each period's materialisation says what became of its own delivery.
    assert by_period["2026-02"]["deliveries_loaded"] == 1
    assert by_period["2026-01"]["deliveries_loaded"] == 0
    assert by_period["2026-01"]["status"] == "failed"
    problems = by_period["2026-01"]["problems"]
    assert failed in problems and "CheckViolation" in problems
    assert raw_ids(db) == {"police/2026-03-03/incidents_2026-02.csv"}
