"""The check history survives many checks of one run recording at once into a new database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from quality.history import CheckRecord, record_checks


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
