"""The retention job through Dagster: an expired period leaves raw, identity and dbt's
incremental tables (the only models that keep rows between runs).

It deletes part of the region, so it works on a region of its own.
"""

from __future__ import annotations

import dagster as dg
from psycopg import sql

from ingestion.raw_tables import lineage_view
from ingestion.spec import load_specs
from tests.dbt.conftest import own_region_fixture

dbt_region = own_region_fixture()

# Five years on from the region's last month: the 60-month agreements (housing provider,
# revenues and benefits, schools) keep 2026-02 onwards, the 36-month sensors nothing, the
# police (84 months) everything.
AS_OF = "2031-02-01"
SIXTY_MONTH_BODIES = ("housing_provider", "revenues_benefits", "schools")


def record_region_in_ledger(db) -> None:
    """The region's rows were inserted without the loader; record their deliveries as it would
    (those the region recorded already keep their entry)."""
    for spec in load_specs():
        for entity in spec.entities:
            db.execute(
                sql.SQL(
                    "insert into ingestion.deliveries (delivery_id, body, entity, period,"
                    " delivery_date, file_name, file_sha256, bytes, status, rows_delivered,"
                    " rows_loaded, rows_quarantined)"
                    " select _delivery_id, {body}, {entity}, _period, date '2026-04-02',"
                    " split_part(_delivery_id, '/', 3), min(_file_sha256), 0, 'loaded',"
                    " count(*), count(*), 0 from {table} group by _delivery_id, _period"
                    " on conflict do nothing"
                ).format(
                    body=sql.Literal(spec.body),
                    entity=sql.Literal(entity.name),
                    table=sql.Identifier(spec.raw_schema, lineage_view(entity.name)),
                )
            )
    db.commit()


def contacts_of(db, bodies: tuple[str, ...], before: str = "9999-99") -> int:
    return db.execute(
        "select count(*) from core.fct_service_contact where body = any(%s) and source_period < %s",
        (list(bodies), before),
    ).fetchone()[0]


def test_the_retention_job_purges_expired_periods_and_what_dbt_kept_of_them(
    dbt_build, db, tmp_path, monkeypatch
):
    from orchestration.defs.dbt import defs as dbt_defs
    from orchestration.defs.retention import retention

    record_region_in_ledger(db)
    landing = tmp_path / "landing"
    monkeypatch.setenv("JIGSAW_LANDING_DIR", str(landing))
    expired_file = landing / "schools" / "2026-04-02" / "exclusions_2026-01.csv"
    kept_file = landing / "schools" / "2026-04-02" / "attendance_2026-03.csv"
    for landed in (expired_file, kept_file):
        landed.parent.mkdir(parents=True, exist_ok=True)
        landed.write_text("as delivered\n")
    assert contacts_of(db, SIXTY_MONTH_BODIES, before="2026-02") > 0
    assert db.execute("select count(*) from core.fct_sensor_reading_daily").fetchone()[0] > 0
    police = contacts_of(db, ("police",))
    assert police > 0
    db.commit()

    result = retention.execute_in_process(
        run_config={"ops": {"purge_expired_periods": {"config": {"as_of": AS_OF}}}},
        resources=dbt_defs.resources,  # dbt, and the database it resolves
    )

    assert result.success
    expired = result.output_for_node("purge_expired_periods")
    assert expired > 0
    assert not expired_file.exists() and kept_file.exists()
    statuses = dict(
        db.execute(
            "select body, string_agg(distinct status, ',') from ingestion.deliveries group by 1"
        ).fetchall()
    )
    assert statuses["home_sensors"] == "expired"
    assert statuses["police"] == "loaded"
    assert (
        db.execute(
            "select count(*) from raw_schools.attendance where _period < '2026-02'"
        ).fetchone()[0]
        == 0
    )
    # dbt's incremental tables were rebuilt without the expired periods; the rest stays
    assert contacts_of(db, SIXTY_MONTH_BODIES, before="2026-02") == 0
    assert db.execute("select count(*) from core.fct_sensor_reading_daily").fetchone()[0] == 0
    assert contacts_of(db, ("police",)) == police


def test_the_retention_schedule_runs_by_default():
    from orchestration.defs.retention import nightly_retention

    assert nightly_retention.default_status == dg.DefaultScheduleStatus.RUNNING
    assert nightly_retention.job_name == "retention"
