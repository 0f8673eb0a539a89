"""The dbt models as Dagster assets: keys, lineage from ingestion and linkage, checks, groups,
a manifest made from a clean clone, and a materialisation through Dagster (which drops and
rebuilds a table, so the module works on a region of its own)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from ingestion.spec import load_specs
from jigsaw.paths import dbt_project_dir
from orchestration.factories.dbt_assets import (
    PARSE_PLACEHOLDER_ENV,
    ensure_manifest,
    jigsaw_dbt_project,
    manifest_is_stale,
)
from tests.dbt.conftest import own_region_fixture

dbt_region = own_region_fixture()

CORE = [
    "dim_person",
    "dim_household",
    "dim_property",
    "dim_area",
    "fct_service_contact",
    "fct_financial_hardship",
    "fct_housing_condition",
    "fct_sensor_reading_daily",
    "fct_ae_attendance",
]
MARTS = [
    "multi_agency_persons",
    "multi_agency_households",
    "damp_risk_by_property",
    "betting_hardship_by_area",
    "early_intervention_features",
]


@pytest.fixture(scope="module")
def dbt_defs():
    from orchestration.defs.dbt import defs

    return defs


@pytest.fixture(scope="module")
def graph(dbt_defs):
    return dbt_defs.resolve_asset_graph()


def test_every_model_is_an_asset_keyed_by_its_name(graph):
    keys = {k.to_user_string() for k in graph.materializable_asset_keys}
    for name in CORE + MARTS + ["stg_police__incidents", "stg_linkage__person_xrefs"]:
        assert name in keys
    assert not any(k.startswith(("staging/", "core/", "marts_build/")) for k in keys)


def test_staging_models_depend_on_the_ingestion_assets_of_their_source(graph):
    for spec in load_specs():
        for entity in spec.entities:
            node = graph.get(dg.AssetKey(f"stg_{spec.body}__{entity.name}"))
            assert node.parent_keys == {dg.AssetKey([spec.raw_schema, entity.name])}
    linkage = graph.get(dg.AssetKey("stg_linkage__person_xrefs"))
    assert linkage.parent_keys == {dg.AssetKey(["linkage", "person_xref"])}


def test_lineage_runs_from_raw_and_linkage_to_the_marts(graph):
    ancestors: set[dg.AssetKey] = set()
    frontier = [dg.AssetKey("multi_agency_persons")]
    while frontier:
        for parent in graph.get(frontier.pop()).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                frontier.append(parent)
    assert dg.AssetKey(["raw_police", "incidents"]) in ancestors
    assert dg.AssetKey(["linkage", "person_xref"]) in ancestors
    assert dg.AssetKey("fct_service_contact") in ancestors


def test_dbt_tests_are_asset_checks_and_layers_are_groups(graph):
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("dim_person", "unique_dim_person_person_key") in checks
    assert ("multi_agency_persons", "unique_multi_agency_persons_person_key") in checks
    assert graph.get(dg.AssetKey("stg_police__incidents")).group_name == "staging"
    assert graph.get(dg.AssetKey("dim_person")).group_name == "core"
    mart = graph.get(dg.AssetKey("betting_hardship_by_area"))
    assert mart.group_name == "marts"
    assert mart.metadata["jigsaw/disclosure"] == "aggregate"


def test_a_clean_clone_gets_its_manifest_without_a_database(tmp_path: Path, monkeypatch):
    clone = tmp_path / "dbt_project"
    shutil.copytree(dbt_project_dir(), clone, ignore=shutil.ignore_patterns("target", "logs"))
    for variable in PARSE_PLACEHOLDER_ENV:
        monkeypatch.delenv(variable, raising=False)
    project = jigsaw_dbt_project(clone)
    assert manifest_is_stale(project)
    manifest = ensure_manifest(project)
    assert manifest.exists() and not manifest_is_stale(project)
    stamp = manifest.stat().st_mtime
    ensure_manifest(project)
    assert manifest.stat().st_mtime == stamp  # fresh: not parsed again


def test_a_build_after_a_delivery_builds_its_slice_and_says_so(dbt_build, dbt_defs, db):
    """A run tagged as following a police delivery passes the ledger's slice to dbt: the new
    period's contact is written, and the materialisation and the run's tags name the slice."""
    import datetime as dt

    from orchestration.defs import dbt as dbt_module
    from orchestration.slices import TAG_SLICE, run_tags

    since = db.execute("select clock_timestamp()").fetchone()[0] - dt.timedelta(seconds=1)
    (key,) = db.execute(
        "insert into ingestion.deliveries (delivery_id, body, entity, period, delivery_date,"
        " file_name, file_sha256, bytes, status, finished_at) values ('police/2026-05-02/i.csv',"
        " 'police', 'incidents', '2026-04', current_date, 'i.csv', %s, 1, 'loaded',"
        " clock_timestamp()) returning delivery_key",
        ("4" * 64,),
    ).fetchone()
    db.execute(
        "insert into raw_police.incidents (_delivery_key, _period, _source_row_number,"
        " incident_no, nominal_id_token, dob_year, sex, incident_at, incident_type, involvement,"
        " risk_grade) values (%s, '2026-04', 1, 'inc-40', 'tok-police-A', 2012, 'M',"
        " '2026-04-03 10:00', 'violence', 'victim', 'high')",
        (key,),
    )
    db.commit()
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [dbt_module.jigsaw_dbt_models],
        # the view between them too: dbt replaces a view with drop ... cascade
        selection=[
            dg.AssetKey(name)
            for name in (
                "stg_police__incidents",
                "int_service_contacts_unioned",
                "fct_service_contact",
            )
        ],
        resources=dbt_defs.resources,
        tags=run_tags("police", since),
        instance=instance,
    )
    assert result.success
    said = "police.incidents 2026-04; 0 re-keyed people"
    for event in result.get_asset_materialization_events():
        assert event.materialization.metadata[TAG_SLICE].value == said
    assert instance.get_run_by_id(result.run_id).tags[TAG_SLICE] == said
    assert (
        db.execute(
            "select count(*) from core.fct_service_contact where record_id ilike 'inc-40:%'"
        ).fetchone()[0]
        == 1
    )


def test_materialising_through_dagster_runs_dbt_on_the_resolved_database(dbt_build, dbt_defs, db):
    from orchestration.defs import dbt as dbt_module

    db.execute("drop table core.dim_area cascade")
    db.commit()
    result = dg.materialize(
        [dbt_module.jigsaw_dbt_models],
        selection=[dg.AssetKey("dim_area")],
        resources=dbt_defs.resources,  # dbt, and the database it resolves
    )
    assert result.success
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialised == {dg.AssetKey("dim_area")}
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    assert db.execute("select count(*) from core.dim_area").fetchone()[0] == 2


def test_the_build_after_one_body_selects_only_what_is_downstream_of_it():
    from orchestration.defs.jobs import DOWNSTREAM_BUILDS

    selection = DOWNSTREAM_BUILDS["police"].selection
    from orchestration.definitions import defs

    keys = {k.to_user_string() for k in selection.resolve(defs.resolve_asset_graph())}
    assert {"stg_police__incidents", "fct_service_contact", "linkage/person_xref"} <= keys
    assert "early_intervention_features" in keys
    for elsewhere in ("raw_police/incidents", "stg_home_sensors__sensor_readings", "dim_area"):
        assert elsewhere not in keys
