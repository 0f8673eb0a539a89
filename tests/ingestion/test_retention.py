"""Retention on a real PostgreSQL: periods past a body's agreement leave no personal data behind."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg
import pytest

from ingestion.folder_load import load_landing, prepare_database
from ingestion.raw_tables import LEDGER_STATUSES
from ingestion.retention import delete_landed_files, oldest_kept_period, purge_expired
from tests.ingestion import deliveries as d
from tests.ingestion.test_loader import by_body, count, ledger

# Police keep 84 months: on this date 2023-02 is the oldest period kept.
AS_OF = dt.date(2030, 2, 15)


@pytest.mark.parametrize(
    ("months", "as_of", "oldest"),
    [
        (36, dt.date(2026, 10, 31), "2023-10"),  # 2023-10 ended 36 whole months ago today
        (36, dt.date(2026, 11, 1), "2023-11"),
        (84, AS_OF, "2023-02"),
        (12, dt.date(2026, 1, 5), "2025-01"),
    ],
)
def test_a_period_is_kept_for_its_retention_after_the_month_it_covers(months, as_of, oldest):
    assert oldest_kept_period(months, as_of) == oldest


def test_expired_periods_lose_raw_identity_and_quarantined_rows(db, db_url, landing, specs):
    police = by_body(specs, "police")
    d.police_file(landing, "2023-01-03", "2022-12", [d.police_row(1), d.police_row(2, DOB="x")])
    d.police_file(landing, "2023-02-03", "2023-01", [d.police_row(3), d.police_row(4)])
    d.police_file(landing, "2023-02-20", "2023-01", [d.police_row(3)])  # corrected re-delivery
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(5), d.police_row(6, DOB="y")])
    load_landing(db_url, landing, police)
    before = ledger(db)
    assert [v[0] for k, v in sorted(before.items())] == [
        "loaded", "superseded", "loaded", "loaded",
    ]  # fmt: skip
    assert count(db, "ingestion.quarantine") == 2
    assert count(db, "identity.person_records", "_period < '2023-02'") == 2

    purged = purge_expired(db, police, AS_OF)

    assert [(s.period, s.deliveries, s.raw_rows) for s in purged] == [
        ("2022-12", 1, 1),
        ("2023-01", 2, 1),
    ]
    assert count(db, "raw_police.incidents", "_period < '2023-02'") == 0
    assert count(db, "identity.person_records", "_period < '2023-02'") == 0
    assert count(db, "ingestion.quarantine", "body = 'police' and delivery_id like %s",
                 "police/2023-%") == 0  # fmt: skip
    after = ledger(db)
    for delivery_id, (status, *_rest, note) in after.items():
        if "/2023-" in delivery_id:
            assert status == "expired" and "84-month retention" in note, delivery_id
        else:  # the 2026-01 delivery, its rows and its quarantined row are untouched
            assert status == "loaded"
    assert "replaced by" in after["police/2023-02-03/incidents_2023-01.csv"][-1]  # history kept
    assert count(db, "raw_police.incidents", "_period = '2026-01'") == 1
    assert count(db, "ingestion.quarantine", "delivery_id like %s", "police/2026-%") == 1
    assert purge_expired(db, police, AS_OF) == []  # nothing left to do


def test_a_late_delivery_for_an_expired_period_is_not_loaded(db, db_url, landing, specs):
    police = by_body(specs, "police")
    d.police_file(landing, "2023-01-03", "2022-12", [d.police_row(1)])
    load_landing(db_url, landing, police)
    purge_expired(db, police, AS_OF)
    d.police_file(landing, "2030-03-01", "2022-12", [d.police_row(1), d.police_row(2)])
    summary = load_landing(db_url, landing, police)
    late = [r for r in summary.results if r.delivery_id.startswith("police/2030-03-01")]
    assert [r.status for r in late] == ["expired"]
    assert "past retention" in late[0].error
    assert count(db, "raw_police.incidents") == 0


def test_a_ledger_made_before_the_expired_status_is_upgraded(db, specs):
    db.execute(
        "create schema ingestion; create table ingestion.deliveries (delivery_id text primary"
        " key, body text not null, entity text not null, period text not null, delivery_date"
        " date not null, file_name text not null, file_sha256 text not null, bytes bigint not"
        " null, status text not null check (status in ('loaded', 'duplicate', 'rejected',"
        " 'superseded')), rows_delivered integer, rows_loaded integer, rows_quarantined"
        " integer, error text, started_at timestamptz not null default now(), finished_at"
        " timestamptz)"
    )
    prepare_database(db, by_body(specs, "police"))
    prepare_database(db, by_body(specs, "police"))  # and again: no second constraint
    checks = db.execute(
        "select pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = 'ingestion.deliveries'::regclass and contype = 'c'"
    ).fetchall()
    assert len(checks) == 1
    assert all(f"'{status}'" in checks[0][0] for status in LEDGER_STATUSES)


def test_the_files_delivered_for_expired_periods_are_deleted_from_landing(
    db, db_url, landing, specs
):
    police = by_body(specs, "police")
    old = d.police_file(landing, "2023-01-03", "2022-12", [d.police_row(1)])
    unreadable = d.folder(landing, "police", "2023-01-04") / "incidents_2022-12.csv"
    unreadable.write_bytes(b"")  # rejected, yet its name still ties it to the period
    kept = d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(2)])
    load_landing(db_url, landing, police)
    purge_expired(db, police, AS_OF)

    deleted = delete_landed_files(db, police, landing, AS_OF)

    assert sorted(deleted) == sorted([old, unreadable])
    assert not old.exists() and not unreadable.exists() and kept.exists()
    assert delete_landed_files(db, police, landing, AS_OF) == []


def _expired_and_kept_files(landing):
    """One police delivery past retention on AS_OF, one within it."""
    old = d.police_file(landing, "2023-01-03", "2022-12", [d.police_row(1), d.police_row(2)])
    kept = d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(3)])
    return old, kept


def _run_retention_command(db_url, landing, *options) -> str:
    """``python -m ingestion.retention`` as an operator runs it, on this test's database."""
    env = {**os.environ, "JIGSAW_DATABASE_URL": db_url, "JIGSAW_LANDING_DIR": str(landing)}
    done = subprocess.run(
        [sys.executable, "-m", "ingestion.retention", "--as-of", AS_OF.isoformat(), *options],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def test_a_dry_run_reports_what_would_expire_and_deletes_nothing(db, db_url, landing, specs):
    old, kept = _expired_and_kept_files(landing)
    load_landing(db_url, landing, by_body(specs, "police"))
    ledger_before = ledger(db)

    report = _run_retention_command(db_url, landing, "--dry-run")

    assert "would expire police.incidents 2022-12: 1 deliveries" in report
    assert "2026-01" not in report
    assert "1 extract periods past retention on 2030-02-15" in report
    assert "0 landed files deleted" in report
    assert ledger(db) == ledger_before  # nothing marked expired
    assert count(db, "raw_police.incidents", "_period = '2022-12'") == 2
    assert count(db, "identity.person_records", "_period = '2022-12'") == 2
    assert old.exists() and kept.exists()


def test_keep_landed_files_purges_the_rows_and_leaves_the_files(db, db_url, landing, specs):
    old, kept = _expired_and_kept_files(landing)
    load_landing(db_url, landing, by_body(specs, "police"))

    report = _run_retention_command(db_url, landing, "--keep-landed-files")

    assert "expired police.incidents 2022-12: 1 deliveries, 2 raw" in report
    assert "0 landed files deleted" in report
    assert count(db, "raw_police.incidents", "_period = '2022-12'") == 0
    assert ledger(db)["police/2023-01-03/incidents_2022-12.csv"][0] == "expired"
    assert old.exists() and kept.exists()


def test_the_retention_job_keeps_landed_files_when_told_to(db, db_url, landing, specs, monkeypatch):
    from orchestration.defs.retention import RetentionConfig, purge_expired_periods
    from orchestration.resources import PostgresResource

    monkeypatch.setenv("JIGSAW_LANDING_DIR", str(landing))
    old, kept = _expired_and_kept_files(landing)
    load_landing(db_url, landing, by_body(specs, "police"))

    # The job's purge step with its run config; rebuilding dbt's incremental tables after it
    # is tests/dbt/test_retention_job.py's business.
    context = dg.build_op_context(resources={"database": PostgresResource(url=db_url)})
    config = RetentionConfig(as_of=AS_OF.isoformat(), delete_landed_files=False)
    expired = purge_expired_periods(context, config)

    assert expired == 1
    assert count(db, "raw_police.incidents", "_period = '2022-12'") == 0
    assert ledger(db)["police/2023-01-03/incidents_2022-12.csv"][0] == "expired"
    assert old.exists() and kept.exists()
