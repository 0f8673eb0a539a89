"""The last good version stays, with real dbt: a mart that dbt rebuilt through Dagster and that
then fails a gate is not published, and ``marts.<mart>`` keeps what analysts had.

tests/quality/test_publishing.py shows every gate failing with a stand-in for dbt; here the mart
is the project's own, built by the project's dbt asset from the project's manifest, and gated
and published by the assets and checks the factory makes for it. It changes core and publishes,
so it works on a region of its own.
"""

from __future__ import annotations

import dagster as dg
import pytest

from ingestion.spec import load_specs
from orchestration.factories.quality_gates import (
    PRIVACY_CHECK,
    PURPOSE_CHECK,
    build_privacy_check,
    build_publish_asset,
    build_purpose_check,
    build_roles_asset,
    publishing_gates,
)
from orchestration.resources import PostgresResource
from quality.manifest import marts
from tests.dbt.conftest import own_region_fixture

dbt_region = own_region_fixture()

MART = "multi_agency_households"
BODY = "police"  # in the mart's lineage (fct_service_contact) and permitting its purpose


def _withdrawn(specs, body: str, purpose: str):
    """The specs after ``body``'s sharing agreement stopped permitting ``purpose``."""
    changed = []
    for spec in specs:
        if spec.body == body:
            agreement = spec.sharing_agreement
            kept = [p for p in agreement.permitted_purposes if p != purpose]
            spec = spec.model_copy(
                update={
                    "sharing_agreement": agreement.model_copy(update={"permitted_purposes": kept})
                }
            )
        changed.append(spec)
    return changed


def _rows(db, schema: str) -> list[tuple]:
    return db.execute(f"select * from {schema}.{MART} order by 1").fetchall()


@pytest.fixture(scope="module")
def mart_build(dbt_build, region_database):
    """How a regional build builds, gates and publishes the mart: the project's dbt asset
    (only this mart selected), the roles, the mart's own gates and its publishing asset."""
    from orchestration.defs.dbt import defs as dbt_defs
    from orchestration.defs.dbt import jigsaw_dbt_models

    manifest = dbt_build.manifest
    [mart] = [m for m in marts(manifest) if m.name == MART]
    resources = {**dbt_defs.resources, "database": PostgresResource(url=region_database)}

    def build(specs):
        gates = publishing_gates(mart, manifest, [])
        assert gates.own == [PRIVACY_CHECK, PURPOSE_CHECK]  # a record-level mart's own gates
        everything = [
            jigsaw_dbt_models,
            build_roles_asset(marts(manifest)),
            build_publish_asset(mart, gates),
            build_privacy_check(mart),
            build_purpose_check(mart, manifest, specs),
        ]
        result = dg.materialize(
            everything,
            selection=dg.AssetSelection.assets(
                MART, ["quality", "database_roles"], ["marts", MART]
            ),
            resources=resources,
            raise_on_error=False,
        )
        built = {e.asset_key for e in result.get_asset_materialization_events()}
        failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
        return result, built, failed

    return build


def test_a_mart_failing_its_gate_after_a_real_dbt_build_keeps_the_last_good_version(mart_build, db):
    specs = load_specs()
    result, built, failed = mart_build(specs)
    assert result.success and not failed
    assert {dg.AssetKey(MART), dg.AssetKey(["marts", MART])} <= built
    published = _rows(db, "marts")
    assert published and published == _rows(db, "marts_build")

    # Core changes (the police contacts are gone), and the police agreement no longer permits
    # the mart's purpose: dbt rebuilds the mart, its purpose gate fails, publishing does not run.
    db.execute("delete from core.fct_service_contact where body = %s", (BODY,))
    db.commit()
    result, built, failed = mart_build(_withdrawn(specs, BODY, "early_intervention"))

    assert not result.success
    assert dg.AssetKey(MART) in built, "dbt rebuilt the mart"
    assert dg.AssetKey(["marts", MART]) not in built, "a mart failing its gate was published"
    assert [(e.asset_key, e.check_name) for e in failed] == [(dg.AssetKey(MART), PURPOSE_CHECK)]
    [finding] = failed[0].metadata["findings"].value
    assert finding["source"] == f"raw_{BODY}"
    rebuilt = _rows(db, "marts_build")
    assert rebuilt != published, "the rebuilt mart must differ for the test to show anything"
    assert _rows(db, "marts") == published, "analysts must keep the last good version"
