"""Load every Dagster definition, as the UI does, and assert the shape of the asset graph."""

from __future__ import annotations

import dagster as dg
import pytest

from ingestion.spec import load_specs


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def graph(defs: dg.Definitions):
    return defs.resolve_asset_graph()


def test_every_source_table_is_an_asset_grouped_by_body(graph):
    for spec in load_specs():
        for entity in spec.entities:
            key = dg.AssetKey([spec.raw_schema, entity.name])
            assert graph.has(key), f"no asset for {key.to_user_string()}"
            node = graph.get(key)
            assert node.group_name == spec.body
            assert node.partitions_def is not None


def test_a_sensor_per_body(defs):
    sensors = {s.name for s in defs.sensors or []}
    for spec in load_specs():
        assert f"{spec.body}__deliveries_sensor" in sensors


def test_core_and_marts_are_downstream_of_raw_and_linkage(graph):
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for model in (
        "dim_person",
        "dim_household",
        "dim_property",
        "dim_area",
        "fct_service_contact",
        "fct_financial_hardship",
        "fct_housing_condition",
        "fct_sensor_reading_daily",
        "fct_ae_attendance",
    ):
        assert model in keys, f"dbt model {model} is not an asset"
    upstream_of_contacts = {
        k.to_user_string() for k in graph.upstream_key_iterator(dg.AssetKey("fct_service_contact"))
    }
    assert upstream_of_contacts, "fct_service_contact has no upstream"
    ancestors = set()
    frontier = [dg.AssetKey("fct_service_contact")]
    while frontier:
        key = frontier.pop()
        for parent in graph.get(key).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                frontier.append(parent)
    names = {k.to_user_string() for k in ancestors}
    assert "raw_police/incidents" in names
    assert "linkage/person_xref" in names


def test_every_dependency_is_a_defined_asset(graph):
    """No dangling edge: each parent of each asset is materialisable here."""
    materialisable = set(graph.materializable_asset_keys)
    for key in graph.materializable_asset_keys:
        for parent in graph.get(key).parent_keys:
            assert parent in materialisable, f"{key.to_user_string()} depends on {parent}"


def test_raw_tables_are_gated_by_blocking_checks(graph, defs):
    check_keys = graph.asset_check_keys
    for spec in load_specs():
        for entity in spec.entities:
            key = dg.AssetKey([spec.raw_schema, entity.name])
            assert any(c.asset_key == key for c in check_keys), f"no check on {key}"


def test_regional_build_job_exists(defs):
    job = defs.resolve_job_def("regional_build")
    assert job is not None


def test_the_nightly_build_never_reads_the_ground_truth(defs):
    """A real region has no ground truth: grading it is the demo's own job, not the build's."""
    grading = {dg.AssetKey(["analytics", "evaluation"]), dg.AssetKey(["linkage", "evaluation"])}
    builds = [j.name for j in defs.resolve_all_job_defs() if j.name.endswith("_build")]
    assert "regional_build" in builds and "police__downstream_build" in builds
    for name in builds:
        build = defs.resolve_job_def(name).asset_layer.selected_asset_keys
        assert not grading & build, name
    regional = defs.resolve_job_def("regional_build").asset_layer.selected_asset_keys
    assert {
        dg.AssetKey(["analytics", "analysts_report"]),
        dg.AssetKey(["linkage", "person_xref"]),
    } <= regional
    graded = defs.resolve_job_def("demo_evaluation").asset_layer.selected_asset_keys
    assert graded == grading
