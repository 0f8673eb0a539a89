"""The check history survives many checks recording at once into a new database, from threads
and from processes (as Dagster's multiprocess executor runs check steps), and a check step never
waits behind another step's transaction: it runs no DDL (quality/schema.py)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import psycopg

from quality.history import CheckRecord, record_checks
from quality.schema import HISTORY_DDL, ensure_quality_schema

VERDICTS_PER_TRANSACTION = 3
ROUNDS = 4


def test_concurrent_checks_all_reach_the_history(fresh_database_url):
    def record(i: int) -> None:
        with psycopg.connect(fresh_database_url) as conn:
            record_checks(
                conn, [CheckRecord(f"check_{i}", "core.dim_person", "core", "passed", "ERROR")]
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(record, range(16)))
    with psycopg.connect(fresh_database_url) as conn:
        rows = conn.execute("select count(distinct check_name) from quality.check_results")
        assert rows.fetchone() == (16,)


def _check_step(args: tuple[str, str]) -> str:
    """One check step's writes: a few verdicts per transaction (the gates of one asset), with a
    lock timeout so that waiting behind another step shows as a failure, not a slow test."""
    url, step = args
    try:
        with psycopg.connect(url) as conn:
            conn.execute("set lock_timeout = '5s'")
            for r in range(ROUNDS):
                for k in range(VERDICTS_PER_TRANSACTION):
                    verdict = CheckRecord(
                        f"{step}_{r}_{k}", f"core.{step}", "core", "passed", "ERROR"
                    )
                    record_checks(conn, [verdict])
                conn.commit()
    except psycopg.Error as exc:
        return f"{step}: {type(exc).__name__}: {exc}"
    return ""


def _run_steps(pool: multiprocessing.pool.Pool, url: str, name: str, steps: int) -> list[str]:
    return [e for e in pool.map(_check_step, [(url, f"{name}{i}") for i in range(steps)]) if e]


def test_check_steps_in_several_processes_only_append_and_never_wait(fresh_database_url):
    url, steps = fresh_database_url, 6
    # Spawned, not forked: the test process has threads of its own by now (Dagster, gRPC), and a
    # fork of a threaded process can hang its children on a lock a thread held at the fork.
    with multiprocessing.get_context("spawn").Pool(steps) as pool:
        # First use of a new database: the steps race to find the tables missing.
        assert _run_steps(pool, url, "first", steps) == []
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_quality_schema(conn)  # what each load run's setup does, before its checks
        # Another step (a publication, a gate) holds an uncommitted verdict for the whole time.
        with psycopg.connect(url) as holder:
            record_checks(holder, [CheckRecord("held", "marts.x", "marts", "passed", "ERROR")])
            errors = _run_steps(pool, url, "step", steps)
            holder.commit()
    assert errors == []
    with psycopg.connect(url) as conn:
        recorded = conn.execute("select count(*) from quality.check_results").fetchone()[0]
    assert recorded == 2 * steps * ROUNDS * VERDICTS_PER_TRANSACTION + 1


def test_a_table_missing_from_an_older_database_is_made_without_waiting_on_the_history(
    fresh_database_url,
):
    url = fresh_database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema quality")
        conn.execute(HISTORY_DDL)  # a database from before the publications and the access log
    with psycopg.connect(url) as holder, psycopg.connect(url) as step:
        # A step of the older version, mid-transaction with a verdict written.
        holder.execute(
            "insert into quality.check_results (check_name, dataset, layer, outcome, severity)"
            " values ('held', 'marts.x', 'marts', 'passed', 'ERROR')"
        )
        step.execute("set lock_timeout = '3s'")
        record_checks(step, [CheckRecord("next", "marts.y", "marts", "passed", "ERROR")])
        step.commit()
        holder.commit()
        made = step.execute(
            "select count(*) from unnest(array['quality.publications', 'quality.access_log',"
            " 'quality.who_read_what']) as n where to_regclass(n) is not null"
        ).fetchone()[0]
    assert made == 3
