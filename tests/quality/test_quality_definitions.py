"""The quality definitions: a gate per contract on an asset that exists, and per mart its
privacy, disclosure and purpose gates and a publishing asset that waits for gated upstreams."""

from __future__ import annotations

import dagster as dg

from ingestion.spec import load_specs
from orchestration.factories.quality_gates import build_quality_defs
from quality.contract_files import load_contracts
from tests.quality.test_mart_gates import synthetic_manifest


def test_quality_definitions_from_specs_contracts_and_manifest():
    specs, contracts = load_specs(), load_contracts()
    manifest = synthetic_manifest()
    defs = build_quality_defs(manifest, specs, contracts)
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key, k.name) for k in graph.asset_check_keys}

    for spec in specs:
        for entity in spec.entities:
            assert (dg.AssetKey([spec.raw_schema, entity.name]), "soda_raw_contract") in checks
    # Contracts on models missing from this manifest get no check; present ones do.
    assert (dg.AssetKey(["stg_police__incidents"]), "soda_staging_contract") in checks
    assert (dg.AssetKey(["fct_service_contact"]), "soda_core_contract") in checks
    assert not any(key == dg.AssetKey(["dim_person"]) for key, _ in checks)

    for mart in ("risk", "research_study", "undeclared"):
        assert {name for key, name in checks if key == dg.AssetKey([mart])} == {
            "no_clear_identifiers",
            "purpose_limitation",
        }
        publish = graph.get(dg.AssetKey(["marts", mart]))
        # The gated core model upstream is a dependency, so its blocking check is waited for.
        assert {
            dg.AssetKey([mart]),
            dg.AssetKey(["fct_service_contact"]),
            dg.AssetKey(["quality", "database_roles"]),
        } == set(publish.parent_keys)
    dg.Definitions.validate_loadable(defs)


def test_without_a_manifest_only_raw_gates_are_built():
    defs = build_quality_defs(None, load_specs(), load_contracts())
    names = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert names == {"soda_raw_contract"}
