"""Faults while loading: the connection killed mid-COPY, two loads of the same body at once, a
correction landing while its period loads, and the database restarted mid-run."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pgserver  # a declared dependency (the embedded fallback): an import error must fail
import psycopg
import pytest
from pgserver._commands import pg_ctl

from ingestion.folder_load import load_landing
from tests.ingestion import deliveries as d

BIG = 40_000  # rows: a COPY long enough to be caught in the act


def police(specs):
    return [s for s in specs if s.body == "police"]


def big_file(landing: Path, delivered: str, period: str, risk: str = "high") -> Path:
    return d.police_file(
        landing, delivered, period, [d.police_row(i, RISK=risk) for i in range(BIG)]
    )


def wait_for_copy(db: psycopg.Connection, timeout: float = 60) -> int:
    """The pid of the backend COPYing into raw_police.incidents, once it is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.execute(
            "select pid from pg_stat_activity where datname = current_database()"
            " and query ilike 'copy %%raw_police%%' and state = 'active'"
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.01)
    raise AssertionError("the load never reached its COPY")


@contextmanager
def held_mid_load(url: str):
    """Hold identity.person_records so a load stops mid-way (its raw COPY done, its identity
    COPY waiting): the fault is then injected at a known point, not raced against the load."""
    blocker = psycopg.connect(url)
    try:
        blocker.execute("lock table identity.person_records in access exclusive mode")
        yield
    finally:
        try:
            blocker.rollback()
            blocker.close()
        except psycopg.OperationalError:
            pass  # the fault took this connection too


def wait_for_blocked_load(db: psycopg.Connection, timeout: float = 60) -> int:
    """The pid of the loader waiting on ``held_mid_load``'s lock, once it is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.execute(
            "select pid from pg_stat_activity where datname = current_database()"
            " and query ilike 'copy %%identity.person_records%%' and wait_event_type = 'Lock'"
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.02)
    raise AssertionError("the load never reached its identity COPY")


def ledger(db: psycopg.Connection) -> dict[str, tuple]:
    rows = db.execute(
        "select delivery_id, status, rows_loaded from ingestion.deliveries"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_a_connection_killed_mid_copy_leaves_nothing_and_the_next_run_loads(
    db, db_url, landing, specs
):
    big_file(landing, "2026-02-03", "2026-01")
    load_landing(db_url, landing / "none", police(specs))  # the tables, so COPY can be watched
    with ThreadPoolExecutor(max_workers=1) as pool, held_mid_load(db_url):
        run = pool.submit(load_landing, db_url, landing, police(specs))
        db.execute("select pg_terminate_backend(%s)", (wait_for_blocked_load(db),))
        with pytest.raises(psycopg.OperationalError):
            run.result()  # the run fails (Dagster retries it); nothing could be recorded
    assert db.execute("select count(*) from raw_police.incidents").fetchone()[0] == 0
    assert db.execute("select count(*) from identity.person_records").fetchone()[0] == 0
    assert ledger(db) == {}
    summary = load_landing(db_url, landing, police(specs))
    assert [(r.status, r.rows_loaded) for r in summary.results] == [("loaded", BIG)]


def test_two_loads_of_the_same_body_at_once_load_each_delivery_once(db, db_url, landing, specs):
    for month in range(1, 7):
        rows = [d.police_row(i) for i in range(month * 100)]
        d.police_file(landing, f"2026-{month + 1:02d}-03", f"2026-{month:02d}", rows)
    d.police_file(
        landing, "2026-03-20", "2026-01", [d.police_row(i, RISK="medium") for i in range(100)]
    )
    load_landing(db_url, landing / "none", police(specs))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(load_landing, db_url, landing, police(specs)) for _ in range(2)]
        summaries = [r.result() for r in runs]
    statuses = [s.by_status for s in summaries]
    assert sum(s.get("loaded", 0) for s in statuses) == 7, statuses
    assert ledger(db)["police/2026-03-20/incidents_2026-01.csv"] == ("loaded", 100)
    assert ledger(db)["police/2026-02-03/incidents_2026-01.csv"][0] == "superseded"
    per_period = dict(
        db.execute("select _period, count(*) from raw_police.incidents group by 1").fetchall()
    )
    assert per_period == {f"2026-{m:02d}": (100 if m == 1 else m * 100) for m in range(1, 7)}
    medium = db.execute(
        "select count(*) from raw_police.incidents where _period = '2026-01'"
        " and risk_grade = 'medium'"
    ).fetchone()[0]
    assert medium == 100


def test_a_correction_landing_while_its_period_loads_waits_then_replaces_it(
    db, db_url, landing, specs
):
    big_file(landing, "2026-02-03", "2026-01")
    load_landing(db_url, landing / "none", police(specs))
    later = landing.parent / "later"
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(load_landing, db_url, landing, police(specs))
        wait_for_copy(db)
        # The correction lands mid-load; a second run (the sensor's next tick) picks it up.
        big_file(later, "2026-02-10", "2026-01", risk="medium")
        second = pool.submit(load_landing, db_url, later, police(specs))
        assert [r.status for r in first.result().results] == ["loaded"]
        assert [r.status for r in second.result().results] == ["loaded"]
    assert ledger(db) == {
        "police/2026-02-03/incidents_2026-01.csv": ("superseded", BIG),
        "police/2026-02-10/incidents_2026-01.csv": ("loaded", BIG),
    }
    grades = db.execute(
        "select risk_grade, count(*) from raw_police.incidents group by 1"
    ).fetchall()
    assert grades == [("medium", BIG)]


def test_the_database_restarted_mid_run_leaves_nothing_partial(
    tmp_path, landing, specs, monkeypatch
):
    from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE

    monkeypatch.setenv(KEY_VARIABLE, DEMO_KEY)
    server = None
    for attempt in range(2):  # on a busy machine pgserver's 10 s start can fall short
        try:
            server = pgserver.get_server(tmp_path / f"pgdata{attempt}", cleanup_mode="stop")
            break
        except (subprocess.SubprocessError, OSError) as exc:
            failure = exc
    if server is None:
        pytest.skip(f"the embedded PostgreSQL did not start here: {failure}")
    try:
        url = server.get_uri("postgres")
        big_file(landing, "2026-02-03", "2026-01")
        load_landing(url, landing / "none", police(specs))
        watcher = psycopg.connect(url, autocommit=True)
        with ThreadPoolExecutor(1) as pool, held_mid_load(url):
            run = pool.submit(load_landing, url, landing, police(specs))
            wait_for_blocked_load(watcher)
            watcher.close()
            # pg_ctl restart keeps the server's options (its socket directory) for the restart.
            pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user)
            with pytest.raises(psycopg.OperationalError):
                run.result()
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("select count(*) from raw_police.incidents").fetchone()[0] == 0
            summary = load_landing(url, landing, police(specs))
            assert [(r.status, r.rows_loaded) for r in summary.results] == [("loaded", BIG)]
    finally:
        server.cleanup()
