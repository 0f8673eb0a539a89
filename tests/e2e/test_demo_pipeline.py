"""The whole pipeline on a small demo region, as `make demo` runs it, in a throwaway database.

Real parts throughout: the simulator writes files, Dagster runs the ingestion assets and the
regional build (splink linkage, dbt, Soda gates, publishing) against real PostgreSQL.
"""

from __future__ import annotations

import csv
import os
import uuid

import psycopg
import pytest
from psycopg import sql

from jigsaw import database
from orchestration.cli.demo import run_demo
from tests.regions import END_TO_END as CONFIG

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def database_url(server_url):
    """A database of this module's own: the demo must start from nothing, and what it leaves
    (raw, linkage, marts) must not leak into other tests' session database."""
    url = database.with_database(server_url, f"jigsaw_e2e_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    yield url
    database.drop_database(url)


@pytest.fixture()
def conn(database_url):
    with psycopg.connect(database_url) as connection:
        yield connection


@pytest.fixture(scope="module")
def demo_run(database_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    # run_demo exports the connection fields and the key for its child processes: put the
    # whole environment back afterwards so later tests see their own database again.
    saved_environment = dict(os.environ)
    patch = pytest.MonkeyPatch()
    patch.setenv("JIGSAW_LANDING_DIR", str(root / "landing"))
    patch.setenv("JIGSAW_GROUND_TRUTH_DIR", str(root / "truth"))
    patch.setenv("JIGSAW_REPORTS_DIR", str(root / "reports"))
    patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    (root / "dagster_home").mkdir()
    (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    patch.setenv("JIGSAW_DATABASE_URL", database_url)
    try:
        first = run_demo(config=CONFIG)
        with psycopg.connect(database_url) as conn:
            ledger_after_first = conn.execute(
                "select delivery_id, status, rows_loaded from ingestion.deliveries order by 1"
            ).fetchall()
        second = run_demo(config=CONFIG)
        yield {
            "first": first,
            "second": second,
            "ledger_after_first": ledger_after_first,
            "truth": root / "truth",
            "dagster_home": root / "dagster_home",
            "reports": root / "reports",
        }
    finally:
        patch.undo()
        os.environ.clear()
        os.environ.update(saved_environment)


def test_demo_succeeds_twice(demo_run):
    assert demo_run["first"] == 0
    assert demo_run["second"] == 0


def test_second_run_loads_nothing_again(demo_run, conn):
    ledger = conn.execute(
        "select delivery_id, status, rows_loaded from ingestion.deliveries order by 1"
    ).fetchall()
    assert ledger == demo_run["ledger_after_first"]


def test_every_delivered_file_and_row_is_accounted_for(demo_run, conn):
    """Against the simulator's ground truth: each file is in the ledger with the right fate,
    and each loaded file's rows are loaded or quarantined exactly as planted."""
    truth = list(csv.DictReader((demo_run["truth"] / "deliveries.csv").open()))
    ledger = {
        row[0]: row[1:]
        for row in conn.execute(
            "select delivery_id, status, rows_delivered, rows_loaded, rows_quarantined "
            "from ingestion.deliveries"
        ).fetchall()
    }
    kinds = {row["kind"] for row in truth}
    assert {"corrupt_file", "duplicate"} <= kinds, kinds
    for row in truth:
        status, delivered, loaded, quarantined = ledger[row["file"]]
        if row["kind"] == "corrupt_file":
            assert status == "rejected", row["file"]
        elif row["kind"] == "duplicate":
            assert status == "duplicate", row["file"]
        else:
            assert status in ("loaded", "superseded"), (row["file"], status)
            assert delivered == int(row["rows_written"]) == loaded + quarantined, row["file"]
            assert quarantined == int(row["rows_corrupted"]), row["file"]
    assert len(ledger) == len(truth)


def test_marts_are_published_and_not_empty(demo_run, database_url, conn):
    marts = [
        r[0]
        for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    ]
    assert len(marts) >= 4, marts
    for mart in marts:
        count = conn.execute(
            sql.SQL("select count(*) from marts.{}").format(sql.Identifier(mart))
        ).fetchone()[0]
        assert count > 0, f"marts.{mart} is empty"
    analyst_url = database.with_user(database_url, "jigsaw_analyst")
    with (
        psycopg.connect(analyst_url) as analyst,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        analyst.execute("select count(*) from core.dim_person")


def test_marts_hold_no_clear_identifiers(demo_run, conn):
    columns = conn.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts'"
    ).fetchall()
    forbidden = ("name", "dob", "birth", "nhs", "postcode", "address", "phone")
    area_names = {"lsoa_name", "ward_name", "local_authority_name"}  # places, not people
    for table, column in columns:
        if column in area_names:
            continue
        assert not any(word in column for word in forbidden), f"marts.{table}.{column}"


def test_every_run_says_who_launched_it_and_from_where(demo_run):
    import socket

    import dagster as dg

    from orchestration.attribution import operator

    with dg.DagsterInstance.from_config(str(demo_run["dagster_home"])) as instance:
        runs = instance.get_runs()
    assert len(runs) >= 2
    for run in runs:
        assert run.tags["jigsaw/launched_by"] == operator(), run.run_id
        assert run.tags["jigsaw/launched_from"] == socket.gethostname(), run.run_id
    assert {run.tags["jigsaw/launcher"] for run in runs} == {"materialize_landing", "make demo"}


def test_analysts_read_only_aggregates_and_practitioners_only_their_purpose(
    demo_run, database_url, conn
):
    """The demo's published marts, over real connections with each role."""
    from quality.access import check_access, practitioner_role
    from quality.manifest import load_manifest, marts

    models = marts(load_manifest())
    assert check_access(conn, models) == []
    by_disclosure = {}
    for mart in models:
        by_disclosure.setdefault(mart.meta.get("disclosure"), []).append(mart)
    analyst_url = database.with_user(database_url, "jigsaw_analyst")
    with psycopg.connect(analyst_url) as analyst:
        for mart in by_disclosure["aggregate"]:
            analyst.execute(sql.SQL("select 1 from marts.{}").format(sql.Identifier(mart.name)))
    for mart in by_disclosure["record_level"]:
        with (
            psycopg.connect(analyst_url, autocommit=True) as analyst,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            analyst.execute(sql.SQL("select 1 from marts.{}").format(sql.Identifier(mart.name)))
        for purpose in mart.purposes:
            role_url = database.with_user(database_url, practitioner_role(purpose))
            with psycopg.connect(role_url) as practitioner:
                practitioner.execute(
                    sql.SQL("select 1 from marts.{}").format(sql.Identifier(mart.name))
                )
    # No address identifier reaches anyone but the housing purpose's practitioners.
    uprn_marts = {
        table
        for (table,) in conn.execute(
            "select table_name from information_schema.columns"
            " where table_schema = 'marts' and column_name = 'uprn'"
        )
    }
    assert uprn_marts == {
        m.name
        for m in models
        if m.purposes == ["housing_condition"] and m in by_disclosure["record_level"]
    }


def test_the_demo_runs_the_analytics_and_writes_the_report(demo_run, conn):
    """On a region this short (6 months) the model has too few labelled months and says so;
    the studies, the alert list and the report are still produced."""
    assert (demo_run["reports"] / "analysts_report.html").is_file()
    alerts = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'practitioner' and table_name = 'damp_alerts'"
    ).fetchone()[0]
    assert alerts == 1
    for table in ("analytics.study_estimates", "analytics.model_metrics"):
        assert conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is not None, table
