"""A new monthly delivery for one body rebuilds only what depends on it, incrementally.

Runs after test_dbt_build.py (it changes the session database): a police delivery for a period
not seen before, and identity resolution giving person D's police record a regional key.
"""

from __future__ import annotations

import pytest

from tests.dbt import region
from tests.dbt.conftest import DbtRun, run_dbt


@pytest.fixture(scope="module")
def incremental_run(dbt_build: DbtRun, region_database: str, tmp_path_factory) -> DbtRun:
    import psycopg

    with psycopg.connect(region_database) as conn:
        conn.execute(
            """
            insert into raw_police.incidents (
                _delivery_id, _period, _file_sha256, _source_row_number, incident_no,
                nominal_id_token, dob_year, sex, incident_at, incident_type, involvement,
                risk_grade
            ) values (
                'police/2026-03-02/incidents_2026-02.csv', '2026-02', %s, 1, 'inc-7',
                %s, 1985, 'F', '2026-02-14 18:00', 'anti_social_behaviour', 'witness',
                'standard'
            )
            """,
            ("1" * 64, region.token("police", "B")),
        )
        conn.execute(
            "insert into linkage.person_xref values ('police', %s, 'P-D', 'probabilistic', 0.97)",
            (region.token("police", "D"),),
        )
    run = run_dbt(
        tmp_path_factory.mktemp("dbt_incremental"), "build", "--select", "source:raw_police+"
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


def test_service_contacts_insert_only_the_new_and_rekeyed_slices(incremental_run, db):
    contacts = result(incremental_run, "fct_service_contact")
    # the new (incidents, 2026-02) slice and the rekeyed (incidents, 2026-01) slice: one row each
    assert contacts["adapter_response"]["rows_affected"] == 2
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
    assert total == distinct == 17


def test_marts_reflect_the_new_delivery(db):
    contacts = db.execute(
        "select contact_count from marts_build.multi_agency_households where uprn = %s",
        (region.HOME_AB,),
    ).fetchone()[0]
    assert contacts == 9  # B's new incident counts for the home B lived at (latest known)
