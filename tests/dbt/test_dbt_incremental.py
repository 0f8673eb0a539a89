"""A new monthly delivery for one body rebuilds only what depends on it, incrementally.

On a region of its own (it changes it): a police delivery for a period
not seen before, identity resolution giving person D's police record a regional key, and address
matching placing C's old police incident at C's house and withdrawing its match for B's March
incident. Then the incremental build must equal a
full refresh of everything downstream of the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from tests.dbt import region
from tests.dbt.conftest import DbtRun, own_region_fixture, run_dbt

dbt_region = own_region_fixture()
NEW_INCIDENTS = 1  # the police delivery for 2026-02 below: B as a witness


@dataclass(frozen=True)
class BeforeTheDelivery:
    """What the full build of the region showed, read before the new delivery lands: the
    counts below are this plus what the delivery adds, not numbers copied from a run."""

    contacts: int
    home_ab_contacts: int


HOME_AB_CONTACTS = (
    "select contact_count from marts_build.multi_agency_households"
    " where property_key = (select property_key from linkage.property_keys where uprn = %s)"
)


@pytest.fixture(scope="module")
def before(dbt_build: DbtRun, region_database: str) -> BeforeTheDelivery:
    with psycopg.connect(region_database) as conn:
        [contacts] = conn.execute("select count(*) from core.fct_service_contact").fetchone()
        [home] = conn.execute(HOME_AB_CONTACTS, (region.HOME_AB,)).fetchone()
    return BeforeTheDelivery(contacts, home)


@pytest.fixture(scope="module")
def incremental_run(before, dbt_build: DbtRun, region_database: str, tmp_path_factory) -> DbtRun:
    with psycopg.connect(region_database) as conn:
        key = conn.execute(
            "insert into ingestion.deliveries (delivery_id, body, entity, period, delivery_date,"
            " file_name, file_sha256, bytes, status, finished_at) values"
            " ('police/2026-03-02/incidents_2026-02.csv', 'police', 'incidents', '2026-02',"
            " '2026-03-02', 'incidents_2026-02.csv', %s, 0, 'loaded', now())"
            " returning delivery_key",
            ("1" * 64,),
        ).fetchone()[0]
        conn.execute(
            """
            insert into raw_police.incidents (
                _delivery_key, _period, _source_row_number, incident_no,
                nominal_id_token, dob_year, sex, incident_at, incident_type, involvement,
                risk_grade
            ) values (
                %s, '2026-02', 1, 'inc-7',
                %s, 1985, 'F', '2026-02-14 18:00', 'anti_social_behaviour', 'witness',
                'standard'
            )
            """,
            (key, region.token("police", "B")),
        )
        conn.execute(
            "insert into linkage.person_xref (body, person_ref_token, person_key, method,"
            " match_probability, run_id) values ('police', %s, 'P-D', 'probabilistic', 0.97, 1)",
            (region.token("police", "D"),),
        )
        conn.execute(
            "insert into linkage.address_xref (body, entity, _delivery_id, _first_row_number,"
            " person_ref_token, uprn, method, score) values ('police', 'incidents',"
            " 'police/2026-04-02/incidents_2024-12.csv', 1, %s, %s, 'address_match', 0.9)",
            (region.token("police", "C"), region.HOUSE_C),
        )
        # a rerun of address matching no longer places B's March incident at a property
        conn.execute(
            "update linkage.address_xref set uprn = null, method = 'unmatched', score = null"
            " where body = 'police' and person_ref_token = %s"
            " and _delivery_id = 'police/2026-04-02/incidents_2026-03.csv'",
            (region.token("police", "B"),),
        )
    run = run_dbt(
        region_database,
        tmp_path_factory.mktemp("dbt_incremental"),
        "build",
        "--select",
        "source:raw_police+",
    )
    assert run.returncode == 0, run.output[-6000:]
    return run


def result(run: DbtRun, name: str) -> dict | None:
    return next((r for r in run.results if r["unique_id"] == f"model.jigsaw.{name}"), None)


def test_only_models_downstream_of_the_body_are_rebuilt(incremental_run):
    rebuilt = {r["unique_id"].split(".")[-1] for r in incremental_run.results}
    assert "stg_police__incidents" in rebuilt
    assert "fct_service_contact" in rebuilt
    assert "multi_agency_persons" in rebuilt
    for untouched in ("fct_sensor_reading_daily", "stg_home_sensors__sensor_readings", "dim_area"):
        assert untouched not in rebuilt


def test_service_contacts_rebuild_only_new_rekeyed_and_readdressed_slices(
    incremental_run, before, db
):
    contacts = result(incremental_run, "fct_service_contact")
    # the new (incidents, 2026-02) slice, the rekeyed (incidents, 2026-01) slice and the
    # readdressed (incidents, 2024-12) slice: one row each; the (incidents, 2026-03) slice,
    # whose match for B was withdrawn: two rows
    assert contacts["adapter_response"]["rows_affected"] == 5
    uprns = db.execute(
        "select source_period, person_key, uprn from core.fct_service_contact"
        " where source_entity = 'incidents' and source_period in ('2024-12', '2026-03')"
        " order by source_period, person_key"
    ).fetchall()
    assert uprns == [
        ("2024-12", "P-C", region.HOUSE_C),
        ("2026-03", "P-A", region.HOME_AB),
        ("2026-03", "P-B", None),
    ]
    rows = db.execute(
        "select source_period, person_key from core.fct_service_contact"
        " where source_entity = 'incidents' order by source_period, person_key"
    ).fetchall()
    assert rows == [
        ("2024-12", "P-C"),
        ("2026-01", "P-D"),
        ("2026-02", "P-B"),
        ("2026-03", "P-A"),
        ("2026-03", "P-B"),
    ]
    total, distinct = db.execute(
        "select count(*), count(distinct contact_key) from core.fct_service_contact"
    ).fetchone()
    # The delivery's one incident is one contact more; rekeying and readdressing move none.
    assert total == distinct == before.contacts + NEW_INCIDENTS


def test_marts_reflect_the_new_delivery(incremental_run, before, db):
    [contacts] = db.execute(HOME_AB_CONTACTS, (region.HOME_AB,)).fetchone()
    # B's new incident counts for the home B lived at (latest known), though the incident
    # itself carries no address
    assert contacts == before.home_ab_contacts + NEW_INCIDENTS


def built_tables(db, run: DbtRun) -> dict[str, str]:
    """The tables (schema.name) the run built: every materialised model it selected."""
    names = {
        r["unique_id"].split(".")[-1] for r in run.results if r["unique_id"].startswith("model.")
    }
    rows = db.execute(
        "select n.nspname, c.relname from pg_class as c"
        " join pg_namespace as n on n.oid = c.relnamespace"
        " where c.relkind = 'r' and n.nspname in ('intermediate', 'core', 'marts_build')"
    ).fetchall()
    return {name: f"{schema}.{name}" for schema, name in rows if name in names}


def contents(db, table: str) -> list[tuple]:
    return sorted(db.execute(f"select * from {table}").fetchall(), key=repr)


def test_an_incremental_build_equals_a_full_refresh(incremental_run, region_database, db, tmp_path):
    """A full refresh of everything downstream of the body, compared row for row with what the
    incremental build left (every table it built, incremental or not). It leaves the tables
    as they were when it passes, so the module's other tests may run before or after it."""
    tables = built_tables(db, incremental_run)
    assert {"fct_service_contact", "int_person_records_keyed", "dim_person"} <= set(tables)
    incremental = {name: contents(db, table) for name, table in tables.items()}
    db.commit()
    refresh = run_dbt(
        region_database, tmp_path, "run", "--full-refresh", "--select", "source:raw_police+"
    )
    assert refresh.returncode == 0, refresh.output[-6000:]
    for name, table in tables.items():
        assert contents(db, table) == incremental[name], name


def test_planner_statistics_and_jit(incremental_run, db):
    """Sources read and tables built have planner statistics (macros/planner.sql); every
    model turns JIT off for its session."""
    never_analysed = db.execute(
        "select n.nspname || '.' || c.relname from pg_class as c"
        " join pg_namespace as n on n.oid = c.relnamespace"
        " where c.relkind = 'r' and c.reltuples < 0 and ("
        "  n.nspname in ('intermediate', 'core', 'marts_build')"
        "  or (n.nspname, c.relname) in (('raw_police', 'incidents'),"
        "   ('linkage', 'person_xref'), ('linkage', 'address_xref')))"
    ).fetchall()
    assert never_analysed == []
    for node in incremental_run.manifest["nodes"].values():
        if node["resource_type"] == "model":
            hooks = [hook["sql"] for hook in node["config"]["pre-hook"]]
            assert "set jit = off" in hooks, node["name"]
