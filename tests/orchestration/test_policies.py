"""Global policy on the loaded definitions: every asset has owners and kinds, every scheduled
raw table and every published mart a freshness policy, code versions follow the definitions."""

from __future__ import annotations

import dagster as dg
import pytest

from ingestion.spec import load_specs
from orchestration.policies import (
    DELIVERY_GRACE,
    MART_FRESHNESS,
    MONTH,
    PUBLISHED_GROUP,
    spec_code_version,
    team_owner,
)


@pytest.fixture(scope="module")
def specs_by_key() -> dict[dg.AssetKey, dg.AssetSpec]:
    from orchestration.definitions import defs

    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


def test_every_asset_has_owners_kinds_and_a_code_version(specs_by_key):
    assert len(specs_by_key) > 50
    for key, spec in specs_by_key.items():
        assert spec.owners, f"{key.to_user_string()} has no owner"
        assert all(o.startswith("team:") or "@" in o for o in spec.owners)
        assert spec.kinds, f"{key.to_user_string()} has no kind"
        assert spec.code_version, f"{key.to_user_string()} has no code version"


def test_raw_tables_are_owned_by_their_body_and_fresh_by_its_schedule(specs_by_key):
    for source in load_specs():
        for entity in source.entities:
            spec = specs_by_key[dg.AssetKey([source.raw_schema, entity.name])]
            assert spec.owners == [team_owner(source.owner)]
            policy = spec.freshness_policy
            if entity.delivery_every_months:
                due = MONTH * entity.delivery_every_months
                assert policy == dg.FreshnessPolicy.time_window(
                    fail_window=due + DELIVERY_GRACE, warn_window=due
                ), spec.key
            else:  # delivered on no schedule: nothing can be late
                assert policy is None, spec.key


def test_published_marts_are_fresh_by_the_nightly_build_and_owned_as_their_mart(specs_by_key):
    published = [s for s in specs_by_key.values() if s.group_name == PUBLISHED_GROUP]
    assert len(published) >= 5
    for spec in published:
        assert spec.freshness_policy == MART_FRESHNESS
        built = specs_by_key[dg.AssetKey([spec.key.path[-1]])]
        assert spec.owners == built.owners
    mart = specs_by_key[dg.AssetKey(["betting_hardship_by_area"])]
    assert mart.owners == ["team:office_of_data_analytics_public_health_analyst"]  # its meta
    staging = specs_by_key[dg.AssetKey(["stg_police__incidents"])]
    assert staging.owners == ["team:office_of_data_analytics_data_engineering"]  # folder meta


def test_a_changed_spec_changes_the_raw_code_version():
    police = next(s for s in load_specs() if s.body == "police")
    entity = police.entities[0]
    before = spec_code_version(police, entity, "factory")
    changed = entity.model_copy(update={"description": entity.description + " (changed)"})
    assert spec_code_version(police, changed, "factory") != before
    assert spec_code_version(police, entity, "factory v2") != before
    assert spec_code_version(police, entity, "factory") == before


def test_team_owner_slugs_names_and_keeps_email():
    assert team_owner("Police force, Information Sharing Unit") == (
        "team:police_force_information_sharing_unit"
    )
    assert team_owner("oda@example.org") == "oda@example.org"
