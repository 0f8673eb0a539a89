"""The linkage assets in Dagster: their place in the graph, and a real materialisation."""

from __future__ import annotations

import dagster as dg

from ingestion.spec import load_specs
from orchestration.defs import linkage as linkage_defs
from orchestration.resources import PostgresResource
from tests.linkage.synthetic import generate, write_gazetteer, write_identity


def test_assets_depend_on_every_person_bearing_extract_and_the_gazetteer():
    graph = linkage_defs.defs.resolve_asset_graph()
    person = graph.get(linkage_defs.PERSON_XREF)
    address = graph.get(linkage_defs.ADDRESS_XREF)
    expected = {
        dg.AssetKey([s.raw_schema, e.name])
        for s in load_specs()
        for e in s.entities
        if e.has_person
    }
    assert dg.AssetKey(["police", "incidents"]) not in expected
    assert dg.AssetKey(["raw_police", "incidents"]) in expected
    assert expected <= set(person.parent_keys)
    assert expected | {linkage_defs.GAZETTEER} <= set(address.parent_keys)
    assert person.group_name == address.group_name == "linkage"
    assert set(person.kinds) >= {"splink", "postgres"}
    assert linkage_defs.PERSON_XREF in graph.get(linkage_defs.EVALUATION).parent_keys


def test_materialising_links_the_identity_schema_and_reports_accuracy(
    database_url, tmp_path, monkeypatch
):
    region = generate(800, seed=5)
    write_identity(database_url, region.records)
    write_gazetteer(database_url, region.gazetteer)
    monkeypatch.setenv("JIGSAW_GROUND_TRUTH_DIR", str(tmp_path))
    assets = [linkage_defs.person_xref, linkage_defs.address_xref, linkage_defs.evaluation]
    database = {"database": PostgresResource(url=database_url)}

    # Without a ground truth file the evaluation says so and the run still succeeds.
    result = dg.materialize(assets, resources=database)
    assert result.success
    metadata = result.asset_materializations_for_node("linkage__evaluation")[0].metadata
    assert metadata["available"].value is False
    assert "no ground truth" in metadata["reason"].value

    region.truth.to_csv(tmp_path / "person_records.csv", index=False)
    result = dg.materialize(assets, resources=database)
    assert result.success
    metadata = result.asset_materializations_for_node("linkage__evaluation")[0].metadata
    assert metadata["f1"].value >= 0.95
    assert {"precision", "recall", "exact_cluster_share"} <= set(metadata)
    person = result.asset_materializations_for_node("linkage__person_xref")[0].metadata
    assert (
        person["records"].value == region.truth[["body", "person_ref"]].drop_duplicates().shape[0]
    )
