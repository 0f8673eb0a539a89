"""A build after a delivery replaces only the delivery's slice, and equals a full refresh.

On a region of its own (it changes it), one change after another, each as the pipeline makes it
(rows in raw and their outcome in the ledger, or identity resolution's new keys and its merge
and split events): a new police period, a corrected one, an emptied one, a person moving out of
a household and back, a merge of two people, a split of one, a new and an emptied home-sensors
period, the latest period emptied (the as-of month moves back), and a correction built as the
nightly build builds it, without a slice. After each, dbt builds what is downstream of police,
linkage and home sensors with the slice the run after a delivery computes (orchestration.slices),
and the models built by slice (fct_service_contact, int_person_records_keyed,
int_person_months_located, dim_person, dim_household, early_intervention_features,
fct_sensor_reading_daily) must hold exactly what a full refresh gives them: EXCEPT ALL both ways
is empty. The full refresh then stays as the next change's
starting point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import psycopg
import pytest

from orchestration.slices import DeliverySlice, slice_after
from tests.dbt import region
from tests.dbt.conftest import DbtRun, own_region_fixture, run_dbt


def window_edges(conn) -> None:
    """C, whom the new period (2026-04) does not touch, has something at each edge of the
    windows of the month it adds: police incidents 12, 11, 6 and 5 months before it, and
    unauthorised absences 3 and 2 months before it and in it. A slice build sums C's windows
    for that month by aggregates (early_intervention_features: others_window_sums), the full
    refresh by window functions: each edge must fall on the same side of both."""
    load = region.Loader(conn)
    for period, grade in (
        ("2025-04", "high"),
        ("2025-05", "high"),
        ("2025-10", "medium"),
        ("2025-11", "medium"),
    ):
        load.insert(
            "police",
            "incidents",
            period,
            incident_no=f"inc-c-{period}",
            nominal_id_token=region.token("police", "C"),
            dob_year=2009,
            sex="F",
            incident_at=dt.datetime.fromisoformat(f"{period}-10T12:00"),
            incident_type="missing_person",
            involvement="missing_person",
            risk_grade=grade,
        )
    for month, absences in (("2026-01", 3), ("2026-02", 2), ("2026-04", 5)):
        load.insert(
            "schools",
            "attendance",
            month,
            upn_token=region.token("schools", "C"),
            dob_year=2009,
            gender="F",
            school_urn="100100",
            month=month,
            sessions_possible=40,
            sessions_attended=40 - absences,
            unauthorised_absences=absences,
        )


dbt_region = own_region_fixture(also_load=window_edges)
# Eleven changes, each a sliced build and a full refresh by real dbt: the first test pays them all.
pytestmark = pytest.mark.timeout(30 * 60)

# What each change's body builds: police and identity resolution, or home sensors.
SELECT = {
    "police": ("--select", "source:raw_police+", "source:linkage+"),
    "home_sensors": ("--select", "source:raw_home_sensors+"),
}
MODELS = {
    "fct_service_contact": "core.fct_service_contact",
    "int_person_records_keyed": "intermediate.int_person_records_keyed",
    "int_person_months_located": "intermediate.int_person_months_located",
    "dim_person": "core.dim_person",
    "dim_household": "core.dim_household",
    "early_intervention_features": "marts_build.early_intervention_features",
    "fct_sensor_reading_daily": "core.fct_sensor_reading_daily",
}


def police_incident(
    conn,
    period: str,
    row: int,
    number: str,
    person: str,
    at: dt.datetime,
    grade: str,
    delivery_label: str = "fix",
) -> str:
    """A police incident row as the loader writes it: its delivery in the ledger, its key on
    the row (raw_tables.LINEAGE_COLUMNS); returns the delivery's id."""
    delivery = f"police/{period}-{delivery_label}/incidents_{period}.csv"
    key = region.Loader(conn).delivery_key(delivery, "police", "incidents", period)
    conn.execute(
        "insert into raw_police.incidents (_delivery_key, _period,"
        " _source_row_number, incident_no, nominal_id_token, dob_year, sex, incident_at,"
        " incident_type, involvement, risk_grade) values (%s, %s, %s, %s, %s, 2012, 'M', %s,"
        " 'anti_social_behaviour', 'witness', %s)",
        (key, period, row, number, region.token("police", person), at, grade),
    )
    return delivery


def settle(
    conn, period: str, status: str = "loaded", body: str = "police", entity: str = "incidents"
) -> None:
    """The ledger's record of a delivery for ``period``, as the loader writes it."""
    conn.execute(
        "insert into ingestion.deliveries (delivery_id, body, entity, period, delivery_date,"
        " file_name, file_sha256, bytes, status, finished_at) values (%s, %s, %s,"
        " %s, current_date, %s, %s, 1, %s, clock_timestamp())",
        (
            f"{body}/{period}/{status}/{dt.datetime.now().timestamp()}",
            body,
            entity,
            period,
            "f.csv",
            "3" * 64,
            status,
        ),
    )


def linkage_run(conn, events: list[tuple[str, str, str]], new_keys: list[str]) -> None:
    """Identity resolution's record of a run that merged or split people."""
    run_id = conn.execute(
        "insert into linkage.runs (status) values ('succeeded') returning run_id"
    ).fetchone()[0]
    for event, key, other in events:
        conn.execute(
            "insert into linkage.person_key_events (run_id, event, person_key, other_key,"
            " records) values (%s, %s, %s, %s, 1)",
            (run_id, event, key, other),
        )
    for key in new_keys:
        conn.execute(
            "insert into linkage.person_keys (person_key, created_run) values (%s, %s)",
            (key, run_id),
        )


def new_period(conn) -> None:
    police_incident(conn, "2026-04", 1, "inc-8", "A", dt.datetime(2026, 4, 2, 9), "high")
    settle(conn, "2026-04")


def corrected_period(conn) -> None:
    conn.execute("delete from raw_police.incidents where _period = '2026-03'")
    police_incident(conn, "2026-03", 1, "inc-1", "A", dt.datetime(2026, 3, 5, 20), "standard")
    police_incident(conn, "2026-03", 2, "inc-9", "C", dt.datetime(2026, 3, 9, 11), "high")
    settle(conn, "2026-03")


def emptied_period(conn) -> None:
    conn.execute("delete from raw_police.incidents where _period = '2026-01'")  # D's incident
    settle(conn, "2026-01")


def moved_out(conn) -> None:
    """B is seen by the police at C's house later in February: B's February is now there, so the
    household B shared with A that month (A untouched by the slice) has one person fewer."""
    delivery = police_incident(
        conn, "2026-02", 8, "inc-11", "B", dt.datetime(2026, 2, 10, 22), "standard", "moved"
    )
    region.Loader(conn).address("police", "incidents", (delivery, 8), "B", region.HOUSE_C)
    settle(conn, "2026-02")


def moved_back(conn) -> None:
    """B's late-February incident is withdrawn: B's February is at A's home again, so B is in
    no month of C's house any more, and C's February household (C untouched by the slice) has
    one person fewer. Only the households kept from before the build still name C's house."""
    conn.execute("delete from raw_police.incidents where incident_no = 'inc-11'")
    settle(conn, "2026-02")


def merge(conn) -> None:
    """B's records turn out to be A's: B's key is retired into A's."""
    conn.execute("update linkage.person_xref set person_key = 'P-A' where person_key = 'P-B'")
    linkage_run(conn, [("merge", "P-B", "P-A")], [])


def split(conn) -> None:
    """C's revenues record turns out to be someone else's: a new key for it."""
    conn.execute(
        "update linkage.person_xref set person_key = 'P-E' where body = 'revenues_benefits'"
        " and person_key = 'P-C'"
    )
    linkage_run(conn, [("split", "P-C", "P-E")], ["P-E"])


def sensor_day(conn, period: str, day: dt.date, humidity: int) -> None:
    """A day of 15-minute readings from the flat's sensor, as the loader writes them."""
    delivery = f"home_sensors/{period}-new/sensor_readings_{period}.ndjson"
    key = region.Loader(conn).delivery_key(delivery, "home_sensors", "sensor_readings", period)
    for quarter in range(96):
        conn.execute(
            "insert into raw_home_sensors.sensor_readings (_delivery_key, _period,"
            " _source_row_number, sensor_id, uprn, reading_at, temperature_c,"
            " relative_humidity, battery_pct) values (%s, %s, %s, 's-1', %s, %s, 18, %s, 88)",
            (
                key,
                period,
                quarter + 1,
                region.FLAT_SENSOR,
                dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=15 * quarter),
                humidity,
            ),
        )
    settle(conn, period, body="home_sensors", entity="sensor_readings")


def new_sensors_period(conn) -> None:
    sensor_day(conn, "2026-04", dt.date(2026, 4, 3), 81)


def emptied_sensors_period(conn) -> None:
    conn.execute("delete from raw_home_sensors.sensor_readings where _period = '2026-02'")
    settle(conn, "2026-02", body="home_sensors", entity="sensor_readings")


def emptied_latest_period(conn) -> None:
    """The latest month withdrawn: the as-of month moves back, so every person's months after it
    go and the labels that were complete with it are incomplete again."""
    conn.execute("delete from raw_police.incidents where _period = '2026-04'")
    settle(conn, "2026-04")


def corrected_period_nightly(conn) -> None:
    """A correction the nightly build picks up: it passes no slice, so the models built
    incrementally rebuild in place (strategy 'slice' without a slice) rather than from scratch."""
    police_incident(conn, "2026-02", 7, "inc-10", "A", dt.datetime(2026, 2, 14, 18), "high")
    settle(conn, "2026-02")


CHANGES: dict[str, Callable] = {
    "new period": new_period,
    "corrected period": corrected_period,
    "emptied period": emptied_period,
    "moved out": moved_out,
    "moved back": moved_back,
    "merge": merge,
    "split": split,
    "new sensors period": new_sensors_period,
    "emptied sensors period": emptied_sensors_period,
    "emptied latest period": emptied_latest_period,
    "nightly build": corrected_period_nightly,
}
# The body whose deliveries each change makes (police where not named).
BODIES = {"new sensors period": "home_sensors", "emptied sensors period": "home_sensors"}
# Built as the nightly build builds them: without a slice.
UNSLICED = {"nightly build"}


def differences(conn, built: str, reference: str) -> int:
    return conn.execute(
        f"select count(*) from ((table {built} except all table {reference})"
        f" union all (table {reference} except all table {built})) as differing"
    ).fetchone()[0]


def rows_written(run: DbtRun, model: str) -> int:
    [result] = [r for r in run.results if r["unique_id"] == f"model.jigsaw.{model}"]
    return result["adapter_response"]["rows_affected"]


@pytest.fixture(scope="module")
def outcomes(dbt_build: DbtRun, region_database: str, tmp_path_factory) -> dict:
    """Each change in turn: its slice, the sliced build, and the differences from a refresh."""
    found = {}
    with psycopg.connect(region_database, autocommit=True) as conn:
        conn.execute("create schema if not exists sliced")
        for name, change in CHANGES.items():
            since = conn.execute("select clock_timestamp()").fetchone()[0]
            change(conn)
            body = BODIES.get(name, "police")
            delivery_slice = slice_after(conn, body, since)
            folder = tmp_path_factory.mktemp(name.replace(" ", "_"))
            run = run_dbt(
                region_database,
                folder / "slice",
                "build",
                *SELECT[body],
                env=None if name in UNSLICED else delivery_slice.dbt_env(),
            )
            assert run.returncode == 0, f"{name}: {run.output[-6000:]}"
            built = {r["unique_id"] for r in run.results}
            written = {
                model: rows_written(run, model)
                for model in MODELS
                if f"model.jigsaw.{model}" in built
            }
            for model, table in MODELS.items():
                conn.execute(f"drop table if exists sliced.{model}")
                conn.execute(f"create table sliced.{model} as table {table}")
            refresh = run_dbt(
                region_database, folder / "full", "run", "--full-refresh", *SELECT[body]
            )
            assert refresh.returncode == 0, f"{name}: {refresh.output[-6000:]}"
            found[name] = {
                "slice": delivery_slice,
                "written": written,
                "total": {
                    model: conn.execute(f"select count(*) from {table}").fetchone()[0]
                    for model, table in MODELS.items()
                },
                "differences": {
                    model: differences(conn, f"sliced.{model}", table)
                    for model, table in MODELS.items()
                },
            }
    return found


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_sliced_build_equals_a_full_refresh(outcomes, change):
    assert outcomes[change]["differences"] == dict.fromkeys(MODELS, 0)


def test_the_slice_is_what_the_ledger_and_linkage_say_changed(outcomes):
    assert outcomes["new period"]["slice"] == DeliverySlice(
        (("police", "incidents", "2026-04"),), ()
    )
    assert outcomes["emptied period"]["slice"].periods == (("police", "incidents", "2026-01"),)
    assert outcomes["merge"]["slice"] == DeliverySlice((), ("P-A", "P-B"))
    assert outcomes["split"]["slice"] == DeliverySlice((), ("P-C", "P-E"))
    assert outcomes["emptied sensors period"]["slice"] == DeliverySlice(
        (("home_sensors", "sensor_readings", "2026-02"),), ()
    )


def test_only_the_slice_is_rewritten(outcomes):
    """The new period's one incident is the only contact written; the records and features of
    people the merge did not touch are kept, not rewritten."""
    new = outcomes["new period"]
    assert new["written"]["fct_service_contact"] == 1
    assert new["written"]["int_person_records_keyed"] == 1
    assert outcomes["new sensors period"]["written"]["fct_sensor_reading_daily"] == 1
    merged = outcomes["merge"]
    for model in merged["written"]:  # the person-level models the merge's build built
        assert 0 < merged["written"][model] < merged["total"][model], model
