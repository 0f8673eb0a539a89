"""The linkage steps side by side, as Dagster's multiprocess executor runs them.

Their DDL (``linkage.store.ensure_schema``) once held locks inside each step's transaction and
deadlocked ``delete from linkage.address_xref`` against ``create or replace view
identity.clerical_review_details`` in 3 runs in 4. It now runs once, before the steps.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from linkage.addresses import run_address_matching
from linkage.pipeline import run_person_linkage
from linkage.store import ensure_schema
from tests.linkage.synthetic import generate, write_gazetteer, write_identity


def test_person_linkage_and_address_matching_run_at_once_without_deadlock(fresh_database_url):
    url = fresh_database_url
    region = generate(300, seed=3)
    write_identity(url, region.records)
    write_gazetteer(url, region.gazetteer)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_schema(conn)  # what the linkage/schema asset does once per build
        # The test's own session watches for locks the steps hold while it holds this one.
        conn.execute("set lock_timeout = '30s'")
    for _ in range(3):  # the deadlock struck 3 runs in 4: three rounds would meet it
        with ThreadPoolExecutor(max_workers=2) as pool:
            person = pool.submit(run_person_linkage, url)
            address = pool.submit(run_address_matching, url)
            person_stats, address_stats = person.result(), address.result()
        assert person_stats["records"] > 0
        assert address_stats["rows_given"] + address_stats["rows_address_match"] > 0
    with psycopg.connect(url) as conn:
        views = conn.execute(
            "select count(*) from pg_views where schemaname = 'identity'"
            " and viewname = 'clerical_review_details'"
        ).fetchone()[0]
    assert views == 1
