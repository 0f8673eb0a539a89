"""The Dagster side of ingestion: definitions from specs, real runs, sensors."""

from __future__ import annotations

import json
import os
import runpy
import socket
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from ingestion.folder_load import load_landing
from ingestion.pseudonymise import MissingKeyError
from ingestion.spec import SpecError, load_specs
from orchestration.cli.landing_runs import materialize_landing
from orchestration.factories.ingestion_assets import (
    ACCEPTED_CHECK,
    APPLIED_CHECK,
    UP_TO_DATE_CHECK,
    build_ingestion_defs,
    missing_periods,
)
from orchestration.resources import PostgresResource
from tests.ingestion import deliveries as d

FIRE_SPEC = """\
body: fire_service
title: Fire and rescue service, prevention
owner: Fire and rescue service, Prevention Data Lead
sharing_agreement:
  reference: ISA-FRS-2026-01
  permitted_purposes: [safeguarding, early_intervention]
  retention_months: 36
  lawful_basis: "UK GDPR 6(1)(e) public task; Fire and Rescue Services Act 2004 s6"
entities:
  - name: home_safety_visits
    description: Safe and well visits to homes, one row per visit.
    format: csv
    file_pattern: "home_safety_visits_{period}.csv"
    primary_key: [visit_id]
    columns:
      - {name: visit_id, type: text, nullable: false, description: "Visit reference."}
      - {name: occupier_id, type: text, nullable: false, privacy: token, linkage: person_ref,
         description: "Occupier reference."}
      - {name: occupier_name, type: text, privacy: drop, linkage: family_name,
         description: "Occupier's name."}
      - {name: uprn, type: text, linkage: uprn, description: "UPRN of the home."}
      - {name: visit_date, type: date, format: "%d/%m/%Y", nullable: false,
         description: "Date of the visit."}
      - {name: smoke_alarms_fitted, type: integer, description: "Alarms fitted at the visit."}
"""


def fire_service_specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs" / "fire_service"
    folder.mkdir(parents=True)
    (folder / "fire_service.yml").write_text(FIRE_SPEC)
    return tmp_path / "specs"


def test_definitions_hold_an_asset_check_job_and_sensor_per_spec(specs):
    defs = build_ingestion_defs(specs)
    graph = defs.resolve_asset_graph()
    expected = {dg.AssetKey([s.raw_schema, e.name]) for s in specs for e in s.entities}
    assert set(graph.get_all_asset_keys()) == expected
    assert {s.name for s in defs.sensors} == {f"{s.body}__deliveries_sensor" for s in specs}
    assert {j.name for j in defs.jobs} == {f"{s.body}__ingestion" for s in specs}

    police = graph.get(dg.AssetKey(["raw_police", "incidents"]))
    assert police.group_name == "police"
    assert police.partitions_def == dg.DynamicPartitionsDefinition(name="police__periods")
    assert police.backfill_policy == dg.BackfillPolicy.single_run()
    assert police.kinds == {"postgres"}
    metadata = police.metadata
    assert metadata["sharing_agreement"] == "ISA-POL-2026-03"
    assert metadata["permitted_purposes"] == "safeguarding, early_intervention"
    columns = [c.name for c in metadata["dagster/column_schema"].columns]
    assert columns[:3] == ["_delivery_key", "_period", "_source_row_number"]
    assert "nominal_id_token" in columns and "surname" not in columns
    check_keys = {k for k in graph.asset_check_keys if k.asset_key == police.key}
    assert check_keys == {
        dg.AssetCheckKey(police.key, ACCEPTED_CHECK),
        dg.AssetCheckKey(police.key, APPLIED_CHECK),
        dg.AssetCheckKey(police.key, UP_TO_DATE_CHECK),
    }
    gazetteer = dg.AssetKey(["raw_reference", "gazetteer"])  # delivered on no schedule
    assert {k.name for k in graph.asset_check_keys if k.asset_key == gazetteer} == {
        ACCEPTED_CHECK,
        APPLIED_CHECK,
    }


def test_a_new_body_needs_only_a_spec(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("JIGSAW_SPECS_DIR", str(fire_service_specs(tmp_path)))
    specs = load_specs()
    defs = build_ingestion_defs(specs)
    key = dg.AssetKey(["raw_fire_service", "home_safety_visits"])
    assert set(defs.resolve_asset_graph().get_all_asset_keys()) == {key}
    assert [s.name for s in defs.sensors] == ["fire_service__deliveries_sensor"]

    landing = tmp_path / "landing"
    visits = d.folder(landing, "fire_service", "2026-02-02") / "home_safety_visits_2026-01.csv"
    d.write_csv(
        visits,
        ["visit_id", "occupier_id", "occupier_name", "uprn", "visit_date", "smoke_alarms_fitted"],
        [["V1", "OCC1", "Khan", "100012345678", "14/01/2026", "2"]],
    )
    with dg.DagsterInstance.ephemeral() as instance:
        summary = materialize_landing(instance, specs, landing)
        assert summary.all_succeeded and summary.periods == {"fire_service": ["2026-01"]}
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "select visit_id, visit_date::text, smoke_alarms_fitted"
            " from raw_fire_service.home_safety_visits"
        ).fetchall() == [("V1", "2026-01-14", 2)]


def test_an_invalid_spec_fails_loading_the_definitions_naming_file_and_field(tmp_path, monkeypatch):
    root = fire_service_specs(tmp_path)
    path = root / "fire_service" / "fire_service.yml"
    path.write_text(FIRE_SPEC.replace("format: csv", "format: parquet"))
    monkeypatch.setenv("JIGSAW_SPECS_DIR", str(root))
    module = Path(__file__).resolve().parents[2] / "orchestration" / "defs" / "ingestion.py"
    with pytest.raises(SpecError) as raised:
        runpy.run_path(str(module))
    assert str(path) in str(raised.value) and "entities.0.format" in str(raised.value)


def test_materialize_landing_loads_every_period_through_dagster(db, landing, specs):
    police = [s for s in specs if s.body == "police"]
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1), d.police_row(2, DOB="x")])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(3)])
    (d.folder(landing, "police", "2026-04-03") / "incidents_2026-03.csv").write_bytes(b"")

    with dg.DagsterInstance.ephemeral() as instance:
        summary = materialize_landing(instance, police, landing)
        assert summary.all_succeeded  # a rejected file is reported, not a failed run
        assert summary.periods == {"police": ["2026-01", "2026-02", "2026-03"]}
        assert instance.get_dynamic_partitions("police__periods") == [
            "2026-01", "2026-02", "2026-03",
        ]  # fmt: skip
        key = dg.AssetKey(["raw_police", "incidents"])
        records = instance.fetch_materializations(key, limit=10).records
        assert sorted(r.partition_key for r in records) == ["2026-01", "2026-02", "2026-03"]
        # Each partition carries its own delivery's figures, not the run's totals.
        metadata = {r.partition_key: r.asset_materialization.metadata for r in records}
        assert metadata["2026-01"]["rows_loaded"].value == 1
        assert metadata["2026-01"]["rows_quarantined"].value == 1
        assert metadata["2026-02"]["rows_loaded"].value == 1
        assert "empty file" in metadata["2026-03"]["problems"].value
        # The check over the whole ledger (the partition's own verdict is tested with the
        # partition reports).
        [evaluation] = [
            e.event_log_entry.dagster_event.event_specific_data
            for e in instance.get_records_for_run(
                summary.runs["police"], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
            if e.event_log_entry.dagster_event.event_specific_data.check_name == ACCEPTED_CHECK
            and e.event_log_entry.dagster_event.event_specific_data.partition is None
        ]
        assert evaluation.passed is False and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert "police/2026-04-03/incidents_2026-03.csv: empty file" in (
            evaluation.metadata["rejected_files"].value
        )
    assert db.execute("select count(*) from raw_police.incidents").fetchone()[0] == 2


def test_one_partition_materialises_with_its_own_figures(db_url, landing, specs):
    police = [s for s in specs if s.body == "police"]
    path = d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1), d.police_row(2)])
    defs = build_ingestion_defs(police, landing)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("police__periods", ["2026-01"])
        result = defs.resolve_job_def("police__ingestion").execute_in_process(
            instance=instance, partition_key="2026-01"
        )
        assert result.success
        [materialization] = result.asset_materializations_for_node("raw_police__incidents")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["rows_loaded"] == 2 and metadata["rows_quarantined"] == 0
    assert metadata["bytes"] == path.stat().st_size and len(metadata["file_sha256"]) == 64
    assert metadata["seconds"] >= 0


RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def _tick(sensor, instance, resources, cursor=None):
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        return sensor(context)


def test_the_sensor_requests_runs_for_new_deliveries_only(db_url, landing, specs):
    police = [s for s in specs if s.body == "police"]
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(2)])
    defs = build_ingestion_defs(police, landing)
    sensor = defs.resolve_sensor_def("police__deliveries_sensor")
    resources = {"database": PostgresResource(url=db_url)}
    with dg.instance_for_test() as instance:
        first = _tick(sensor, instance, resources)
        # Two new neighbouring periods: one run over their range, not a run per period.
        [request] = first.run_requests
        assert request.partition_key is None
        assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2026-01", "2026-02")
        assert request.asset_selection == [dg.AssetKey(["raw_police", "incidents"])]
        # Each run says who launched it and from where.
        assert request.tags["jigsaw/launched_by"] == "sensor:police__deliveries_sensor"
        assert request.tags["jigsaw/launched_from"] == socket.gethostname()
        [added] = first.dynamic_partitions_requests
        assert added.partitions_def_name == "police__periods"
        assert list(added.partition_keys) == ["2026-01", "2026-02"]
        assert len(json.loads(first.cursor)) == 2

        load_landing(db_url, landing, police)  # as if the requested run had happened
        instance.add_dynamic_partitions("police__periods", ["2026-01", "2026-02"])
        d.police_file(landing, "2026-03-10", "2026-02", [d.police_row(2, RISK="medium")])
        second = _tick(sensor, instance, resources, first.cursor)
        assert [r.partition_key for r in second.run_requests] == ["2026-02"]
        assert RANGE_START not in second.run_requests[0].tags
        assert second.dynamic_partitions_requests == []


def test_the_sensors_range_run_loads_every_period_in_one_run(db, db_url, landing, specs):
    police = [s for s in specs if s.body == "police"]
    for month in (1, 2, 3):
        period = f"2026-{month:02d}"
        d.police_file(landing, f"2026-{month + 1:02d}-03", period, [d.police_row(month)])
    defs = build_ingestion_defs(police, landing)
    sensor = defs.resolve_sensor_def("police__deliveries_sensor")
    resources = {"database": PostgresResource(url=db_url)}
    with dg.instance_for_test() as instance:
        tick = _tick(sensor, instance, resources)
        [request] = tick.run_requests
        [added] = tick.dynamic_partitions_requests
        instance.add_dynamic_partitions("police__periods", list(added.partition_keys))
        result = defs.resolve_job_def("police__ingestion").execute_in_process(
            instance=instance, tags=request.tags, resources=resources
        )
        assert result.success
        assert len(instance.get_runs()) == 1
        materialized = {
            m.partition for m in result.asset_materializations_for_node("raw_police__incidents")
        }
    assert materialized == {"2026-01", "2026-02", "2026-03"}
    periods = db.execute("select distinct _period from raw_police.incidents order by 1").fetchall()
    assert [p for (p,) in periods] == ["2026-01", "2026-02", "2026-03"]


def test_the_sensor_splits_ranges_at_periods_with_nothing_new_or_still_loading(
    db_url, landing, specs
):
    police = [s for s in specs if s.body == "police"]
    for month in (1, 2, 3, 4, 5):
        d.police_file(landing, f"2026-{month + 1:02d}-03", f"2026-{month:02d}", [d.police_row(1)])
    defs = build_ingestion_defs(police, landing)
    sensor = defs.resolve_sensor_def("police__deliveries_sensor")
    resources = {"database": PostgresResource(url=db_url)}
    only_march = landing / "only-march"
    d.police_file(only_march, "2026-04-03", "2026-03", [d.police_row(1)])
    load_landing(db_url, only_march, police)  # 2026-03's file is in the ledger already
    periods = [f"2026-{m:02d}" for m in (1, 2, 3, 4, 5)]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("police__periods", periods)
        requests = _tick(sensor, instance, resources).run_requests
        ranges = [
            (r.tags.get(RANGE_START), r.tags.get(RANGE_END), r.partition_key) for r in requests
        ]
        # A range never covers 2026-03, which has nothing new: it would be materialised again.
        assert ranges == [("2026-01", "2026-02", None), ("2026-04", "2026-05", None)]

        # A run still loading 2026-04 and 2026-05: the next tick leaves them to it.
        instance.create_run_for_job(
            defs.resolve_job_def("police__ingestion"),
            tags={RANGE_START: "2026-04", RANGE_END: "2026-05"},
            status=dg.DagsterRunStatus.STARTED,
        )
        requests = _tick(sensor, instance, resources).run_requests
        assert [(r.tags.get(RANGE_START), r.tags.get(RANGE_END)) for r in requests] == [
            ("2026-01", "2026-02")
        ]


def test_the_sensor_waits_while_the_ledger_is_unreachable(landing, specs):
    police = [s for s in specs if s.body == "police"]
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    sensor = build_ingestion_defs(police, landing).resolve_sensor_def("police__deliveries_sensor")
    unreachable = {"database": PostgresResource(url="postgresql://postgres@127.0.0.1:1/none")}
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, resources=unreachable) as context,
    ):
        result = sensor(context)
    assert isinstance(result, dg.SkipReason)
    assert "cannot read the delivery ledger" in result.skip_message


def test_materialize_landing_without_a_key_stops_before_any_run(landing, specs, monkeypatch):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    monkeypatch.delenv("JIGSAW_PSEUDONYMISATION_KEY", raising=False)
    with dg.DagsterInstance.ephemeral() as instance:
        with pytest.raises(MissingKeyError):
            materialize_landing(instance, [s for s in specs if s.body == "police"], landing)
        assert instance.get_runs() == []


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str], object]:
    """(asset table, check name) -> the check evaluation recorded in one run."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    found = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        found[(evaluation.asset_key.path[0], evaluation.check_name)] = evaluation
    return found


def test_materialize_landing_runs_the_raw_soda_gates_with_the_loads(
    database_url, fresh_database_url, landing
):
    # The session database is JIGSAW_DATABASE_URL; the runs must use the one passed instead.
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1), d.police_row(2)])
    acute = d.folder(landing, "acute_trust", "2026-02-04") / "ae_attendances_2026-01.txt"
    twice = d.acute_row(1)  # the same attendance twice: the raw gate's duplicate check fails
    d.write_csv(acute, d.ACUTE_HEADER, [twice, twice, d.acute_row(2)], "|")

    with dg.DagsterInstance.ephemeral() as instance:
        summary = materialize_landing(
            instance, landing_dir=landing, database_url=fresh_database_url
        )
        assert set(summary.runs) == {"police", "acute_trust"}
        police = _check_evaluations(instance, summary.runs["police"])
        acute_checks = _check_evaluations(instance, summary.runs["acute_trust"])
    assert police[("raw_police", "soda_raw_contract")].passed is True
    assert police[("raw_police", ACCEPTED_CHECK)].passed is True
    gate = acute_checks[("raw_acute_trust", "soda_raw_contract")]
    assert gate.passed is False and gate.severity == dg.AssetCheckSeverity.ERROR
    assert "duplicate" in json.dumps(gate.metadata["failed_checks"].value).lower()
    # A blocking gate that fails fails its run; the loaded rows stay for the gate to show.
    assert summary.succeeded == {"police": True, "acute_trust": False}
    assert os.environ["JIGSAW_DATABASE_URL"] == database_url
    with psycopg.connect(fresh_database_url) as conn:
        assert conn.execute("select count(*) from raw_police.incidents").fetchone()[0] == 2
        assert (
            conn.execute("select count(*) from raw_acute_trust.ae_attendances").fetchone()[0] == 3
        )
        outcomes = conn.execute(
            "select dataset, outcome from quality.check_results"
            " where check_name = 'soda_raw_contract' order by dataset"
        ).fetchall()
    assert outcomes == [
        ("raw_acute_trust.ae_attendances", "failed"),
        ("raw_police.incidents", "passed"),
    ]
    # Nothing of this landing reached the session database (other tests may have filled it).
    with psycopg.connect(database_url) as conn:
        if conn.execute("select to_regclass('ingestion.deliveries')").fetchone()[0] is not None:
            police_delivery = "police/2026-02-03/incidents_2026-01.csv"
            landed = conn.execute(
                "select count(*) from ingestion.deliveries where delivery_id = %s",
                (police_delivery,),
            ).fetchone()[0]
            assert landed == 0


@pytest.mark.parametrize(
    ("delivered", "every", "region_latest", "missing"),
    [
        ({"2025-11", "2026-01"}, 1, "2026-02", ["2025-12", "2026-02"]),
        ({"2025-12"}, 1, "2025-12", []),
        ({"2025-03", "2025-06"}, 3, "2025-12", ["2025-09", "2025-12"]),
        ({"2025-03", "2025-06"}, 3, "2025-08", []),
        (set(), 1, "2026-01", []),  # nothing to measure from: the check reports it apart
    ],
)
def test_missing_periods_run_from_the_first_delivery_to_the_regions_latest(
    delivered, every, region_latest, missing
):
    assert missing_periods(delivered, every, region_latest) == missing


def test_a_body_behind_the_region_or_with_a_gap_is_flagged(db_url, landing, specs):
    chosen = [s for s in specs if s.body in ("police", "acute_trust")]
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    for delivered, period in (("2026-02-04", "2026-01"), ("2026-04-04", "2026-03")):
        acute = d.folder(landing, "acute_trust", delivered) / f"ae_attendances_{period}.txt"
        d.write_csv(acute, d.ACUTE_HEADER, [d.acute_row(1)], "|")
    defs = build_ingestion_defs(chosen, landing)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_landing(instance, chosen, landing).all_succeeded
        # As the regional build does: the checks alone, once every body has loaded.
        keys = [
            dg.AssetCheckKey(dg.AssetKey(table), UP_TO_DATE_CHECK)
            for table in (["raw_police", "incidents"], ["raw_acute_trust", "ae_attendances"])
        ]
        result = dg.materialize(
            [*defs.assets, *defs.asset_checks],
            selection=dg.AssetSelection.checks(*keys),
            resources={"database": PostgresResource()},
            instance=instance,
        )
    found = {e.asset_key.path[0]: e for e in result.get_asset_check_evaluations()}
    assert set(found) == {"raw_police", "raw_acute_trust"}
    police, acute = found["raw_police"], found["raw_acute_trust"]
    assert police.passed is False and police.severity == dg.AssetCheckSeverity.WARN
    assert police.metadata["missing"].value == "- 2026-02\n- 2026-03"  # behind the region
    assert acute.passed is False and acute.metadata["missing"].value == "- 2026-02"  # a gap
    assert acute.metadata["region_latest_period"].value == "2026-03"
    assert not result.get_asset_materialization_events()  # checks only: nothing reloaded
