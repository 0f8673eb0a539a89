"""The whole pipeline on a small demo region, as `make demo` runs it, in a throwaway database.

Real parts throughout: the simulator writes files, Dagster runs the ingestion assets and the
regional build (splink linkage, dbt, Soda gates, publishing) against real PostgreSQL.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from jigsaw import database
from jigsaw.demo import run_demo

pytestmark = pytest.mark.e2e

RESIDENTS = 2000
MONTHS = 6


@pytest.fixture(scope="module")
def demo_run(database_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    patch = pytest.MonkeyPatch()
    patch.setenv("JIGSAW_LANDING_DIR", str(root / "landing"))
    patch.setenv("JIGSAW_GROUND_TRUTH_DIR", str(root / "truth"))
    patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    (root / "dagster_home").mkdir()
    (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    patch.setenv("JIGSAW_DATABASE_URL", database_url)
    try:
        first = run_demo(residents=RESIDENTS, seed=11, months=MONTHS)
        with psycopg.connect(database_url) as conn:
            ledger_after_first = conn.execute(
                "select delivery_id, status, rows_loaded from ingestion.deliveries order by 1"
            ).fetchall()
        second = run_demo(residents=RESIDENTS, seed=11, months=MONTHS)
        yield {"first": first, "second": second, "ledger_after_first": ledger_after_first}
    finally:
        patch.undo()


def test_demo_succeeds_twice(demo_run):
    assert demo_run["first"] == 0
    assert demo_run["second"] == 0


def test_second_run_loads_nothing_again(demo_run, conn):
    ledger = conn.execute(
        "select delivery_id, status, rows_loaded from ingestion.deliveries order by 1"
    ).fetchall()
    assert ledger == demo_run["ledger_after_first"]


def test_every_delivered_row_is_loaded_or_quarantined(demo_run, conn):
    rows = conn.execute(
        """
        select delivery_id, rows_delivered, rows_loaded, rows_quarantined
        from ingestion.deliveries where status in ('loaded', 'superseded')
        """
    ).fetchall()
    assert rows, "no delivery was loaded"
    for delivery_id, delivered, loaded, quarantined in rows:
        assert delivered == loaded + quarantined, delivery_id
    quarantined = conn.execute("select count(*) from ingestion.quarantine").fetchone()[0]
    assert quarantined > 0, "the demo region plants bad rows; none reached quarantine"
    rejected = conn.execute(
        "select count(*) from ingestion.deliveries where status = 'rejected' and error <> ''"
    ).fetchone()[0]
    assert rejected > 0, "the demo region plants corrupt files; none was rejected"


def test_marts_are_published_and_readable_by_analysts_only(demo_run, database_url, conn):
    marts = [
        r[0]
        for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    ]
    assert len(marts) >= 4, marts
    analyst_url = database.with_user(database_url, "jigsaw_analyst")
    with psycopg.connect(analyst_url) as analyst:
        for mart in marts:
            count = analyst.execute(
                sql.SQL("select count(*) from marts.{}").format(sql.Identifier(mart))
            ).fetchone()[0]
            assert count > 0, f"marts.{mart} is empty"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("select count(*) from core.dim_person")


def test_marts_hold_no_clear_identifiers(demo_run, conn):
    columns = conn.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts'"
    ).fetchall()
    forbidden = ("name", "dob", "birth", "nhs", "postcode", "address", "phone")
    for table, column in columns:
        assert not any(word in column for word in forbidden), f"marts.{table}.{column}"
