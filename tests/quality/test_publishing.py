"""Publishing swaps a mart in atomically, and a failed gate leaves the last good version."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest

from ingestion.spec import load_specs
from jigsaw.database import parse_url, resolve_database_url, with_user
from orchestration.factories.quality_gates import build_mart_defs, database_roles
from orchestration.factories.soda_checks import build_soda_checks
from orchestration.resources import PostgresResource
from quality.access import ANALYST
from quality.contract_files import ContractFile, load_contracts, read_contract
from quality.history import CheckRecord, record_checks
from quality.manifest import MartModel
from quality.publish import publish_marts, published_version
from quality.roles import ensure_roles

MART = "area_summary"
AGGREGATE = MartModel(MART, f"model.jigsaw.{MART}", {"disclosure": "aggregate"})


def _build(conn: psycopg.Connection, rows: list[tuple[str, str, int | None]]) -> None:
    """What dbt does for the mart: (re)build it in the private schema."""
    conn.execute("create schema if not exists marts_build")
    conn.execute(f"drop table if exists marts_build.{MART}")
    conn.execute(f"create table marts_build.{MART} (lsoa_code text, category text, n_people int)")
    with conn.cursor() as cursor:
        cursor.executemany(f"insert into marts_build.{MART} values (%s, %s, %s)", rows)


def _analyst_reads(url: str) -> list[tuple]:
    with psycopg.connect(with_user(url, ANALYST)) as conn:
        return conn.execute(f"select * from marts.{MART} order by 1, 2").fetchall()


V1 = [("A", "x", 20), ("A", "y", 30)]
V2 = [("A", "x", 25), ("A", "y", 35), ("B", "x", 40)]


@pytest.fixture()
def roles_url(fresh_database_url: str) -> str:
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        ensure_roles(conn, parse_url(fresh_database_url).dbname)
    return fresh_database_url


def test_publish_swaps_atomically_and_all_or_nothing(roles_url):
    with psycopg.connect(roles_url, autocommit=True) as conn:
        _build(conn, V1)
        conn.execute(f"comment on table marts_build.{MART} is 'People by area.'")
        conn.execute(f"comment on column marts_build.{MART}.n_people is 'People, suppressed <10.'")
        [publication] = publish_marts(conn, [AGGREGATE], run_id="run-1")
        assert publication.row_count == 2
        assert _analyst_reads(roles_url) == V1
        assert conn.execute(
            f"select obj_description('marts.{MART}'::regclass),"
            f" col_description('marts.{MART}'::regclass, 3)"
        ).fetchone() == ("People by area.", "People, suppressed <10.")

        _build(conn, V2)
        with conn.transaction():
            publish_marts(conn, [AGGREGATE], run_id="run-2")
            # Mid-swap, a reader waits for the swap; it never sees a half-built table.
            with psycopg.connect(with_user(roles_url, ANALYST)) as reader:
                reader.execute("set lock_timeout = '300ms'")
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    reader.execute(f"select * from marts.{MART}")
        assert _analyst_reads(roles_url) == V2

        # Several marts publish together or not at all.
        _build(conn, V1)
        with pytest.raises(psycopg.errors.UndefinedTable):
            publish_marts(conn, [AGGREGATE, MartModel("not_built", "x")], run_id="run-3")
        assert _analyst_reads(roles_url) == V2
        assert published_version(conn, MART)["run_id"] == "run-2"


def _manifest() -> dict:
    return {
        "sources": {
            "source.jigsaw.raw_police.incidents": {"source_name": "raw_police", "name": "incidents"}
        },
        "nodes": {
            "model.jigsaw.people_core": {
                "resource_type": "model",
                "name": "people_core",
                "original_file_path": "models/core/people_core.sql",
                "depends_on": {"nodes": ["source.jigsaw.raw_police.incidents"]},
            },
            f"model.jigsaw.{MART}": {
                "resource_type": "model",
                "name": MART,
                "original_file_path": f"models/marts/{MART}.sql",
                "config": {
                    "meta": {
                        "purpose": "early_intervention",
                        "disclosure": "aggregate",
                        "disclosure_groups": ["lsoa_code"],
                    }
                },
                "depends_on": {"nodes": ["model.jigsaw.people_core"]},
            },
        },
    }


def _core_contract(root: Path) -> ContractFile:
    path = root / "core" / "people_core.yml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "dataset: jigsaw/${var.database}/core/people_core\n"
        "variables: {database: {type: string}}\n"
        "columns:\n  - name: person_key\n    checks:\n      - missing:\n"
    )
    return read_contract(path, root)


def _dbt_like_build(next_build):
    """Like dbt: core and mart built in one step. ``next_build()`` gives the (core keys, mart
    rows, SQL then run on the built mart or None) of each run."""

    @dg.multi_asset(specs=[dg.AssetSpec("people_core"), dg.AssetSpec(MART, deps=["people_core"])])
    def dbt_build():
        core_keys, mart_rows, then = next_build()
        with psycopg.connect(resolve_database_url(), autocommit=True) as conn:
            conn.execute("create schema if not exists core")
            conn.execute("drop table if exists core.people_core")
            conn.execute("create table core.people_core (person_key text)")
            for key in core_keys:
                conn.execute("insert into core.people_core values (%s)", (key,))
            _build(conn, mart_rows)
            if then:
                conn.execute(then)
        yield dg.MaterializeResult(asset_key="people_core")
        yield dg.MaterializeResult(asset_key=MART)

    return dbt_build


def test_failed_gates_block_publishing_and_analyst_keeps_last_good(
    roles_url, use_database, tmp_path
):
    use_database(roles_url)
    # Each build: (core rows, mart rows, no SQL after). The second leaks a count of 3; the
    # third has a core row without its key; the fourth is good but a broken delivery was found
    # meanwhile.
    builds = iter(
        [
            (["p1"], V1, None),
            (["p1"], [("A", "x", 5), ("A", "y", 30)], None),
            ([None], V2, None),
            (["p1"], V2, None),
        ]
    )
    dbt_build = _dbt_like_build(lambda: next(builds))

    core = _core_contract(tmp_path)
    police = next(c for c in load_contracts() if c.dataset == "raw_police.incidents")
    publish_assets, gates = build_mart_defs(_manifest(), load_specs(), [core, police])
    assert {next(iter(g.check_keys)).name for g in gates} == {
        "no_clear_identifiers",
        "purpose_limitation",
        "disclosure_control",
        "no_differencing",
        "readers_by_purpose",
    }
    everything = [dbt_build, database_roles, *publish_assets, *gates, *build_soda_checks([core])]
    published = dg.AssetKey(["marts", MART])

    def run():
        result = dg.materialize(
            everything,
            resources={"database": PostgresResource(url=roles_url)},
            raise_on_error=False,
        )
        materialized = {e.asset_key for e in result.get_asset_materialization_events()}
        failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
        return result, published in materialized, failed

    result, was_published, failed = run()
    assert result.success and was_published and not failed
    assert _analyst_reads(roles_url) == V1

    # A mart that breaks disclosure control is not published; analysts keep the last version.
    result, was_published, failed = run()
    assert not result.success and not was_published
    assert failed == {"disclosure_control"}
    assert _analyst_reads(roles_url) == V1, "analysts must keep the last good version"
    [evaluation] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    findings = evaluation.metadata["findings"].value
    assert findings[0]["rule"] == "primary suppression" and findings[0]["cells"] == 1

    # A failed core gate stops publishing although dbt built core and mart in one step.
    result, was_published, failed = run()
    assert not was_published and failed == {"soda_core_contract"}
    assert _analyst_reads(roles_url) == V1

    # A broken delivery recorded by an earlier ingestion run blocks publishing as well.
    with psycopg.connect(roles_url, autocommit=True) as conn:
        record_checks(
            conn,
            [CheckRecord("soda_raw_contract", "raw_police.incidents", "raw", "failed", "ERROR")],
        )
    result, was_published, failed = run()
    assert not was_published and not failed
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "raw_police.incidents:soda_raw_contract failed" in str(failure.event_specific_data)
    assert _analyst_reads(roles_url) == V1

    # Once a good delivery passes the raw gate again, the mart is published.
    with psycopg.connect(roles_url, autocommit=True) as conn:
        record_checks(
            conn,
            [CheckRecord("soda_raw_contract", "raw_police.incidents", "raw", "passed", "ERROR")],
        )
    builds = iter([(["p1"], V2, None)])
    result, was_published, failed = run()
    assert result.success and was_published
    assert _analyst_reads(roles_url) == V2


def _gated_materialize(url: str, manifest: dict, builds):
    """One Dagster run on ``url``: the mart built like dbt (``builds`` yields its rows and the
    SQL then run on it, or None), gated by its own checks, and published if they passed."""
    dbt_build = _dbt_like_build(lambda: (["p1"], *next(builds)))
    publish_assets, gates = build_mart_defs(manifest, load_specs(), [])
    result = dg.materialize(
        [dbt_build, database_roles, *publish_assets, *gates],
        resources={"database": PostgresResource(url=url)},
        raise_on_error=False,
    )
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    return dg.AssetKey(["marts", MART]) in materialized, failed


def _latest_outcome(url: str, check_name: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select outcome from quality.check_results where dataset = %s and check_name = %s"
            " order by checked_at desc, id desc limit 1",
            (f"marts_build.{MART}", check_name),
        ).fetchone()[0]


def test_a_mart_with_a_clear_identifier_is_not_published(roles_url, use_database):
    use_database(roles_url)
    builds = iter(
        [
            (V1, None),
            # Full postcodes slip into the mart: one column caught by its name, one by content.
            (
                V2,
                f"alter table marts_build.{MART} add column postcode text default 'LS1 4AB',"
                " add column home_area text default 'LS2 9JT'",
            ),
        ]
    )
    was_published, failed = _gated_materialize(roles_url, _manifest(), builds)
    assert was_published and not failed
    assert _analyst_reads(roles_url) == V1

    was_published, failed = _gated_materialize(roles_url, _manifest(), builds)

    assert not was_published
    [evaluation] = failed
    assert (evaluation.asset_key, evaluation.check_name) == (
        dg.AssetKey([MART]), "no_clear_identifiers",
    )  # fmt: skip
    findings = evaluation.metadata["findings"].value
    assert {(f["column"], f["rule"], f["detected_by"]) for f in findings} == {
        ("postcode", "full postcode", "name"),
        ("home_area", "full postcode", "content"),
    }
    assert "postcode: full postcode (name)" in evaluation.description
    assert "LS2 9JT" not in str(findings)  # findings mask what they found
    assert _latest_outcome(roles_url, "no_clear_identifiers") == "failed"
    assert _analyst_reads(roles_url) == V1, "analysts must keep the last good version"


def test_a_mart_reading_a_body_that_does_not_permit_its_purpose_is_not_published(
    roles_url, use_database
):
    use_database(roles_url)
    builds = iter([(V1, None), (V2, None)])
    was_published, failed = _gated_materialize(roles_url, _manifest(), builds)
    assert was_published and not failed

    # The mart's lineage now reaches the home sensors, whose agreement does not permit
    # early intervention.
    manifest = _manifest()
    manifest["sources"]["source.jigsaw.raw_home_sensors.sensor_readings"] = {
        "source_name": "raw_home_sensors", "name": "sensor_readings",
    }  # fmt: skip
    manifest["nodes"]["model.jigsaw.people_core"]["depends_on"]["nodes"].append(
        "source.jigsaw.raw_home_sensors.sensor_readings"
    )
    was_published, failed = _gated_materialize(roles_url, manifest, builds)

    assert not was_published
    [evaluation] = failed
    assert (evaluation.asset_key, evaluation.check_name) == (
        dg.AssetKey([MART]), "purpose_limitation",
    )  # fmt: skip
    [finding] = evaluation.metadata["findings"].value
    assert (finding["mart"], finding["purpose"], finding["source"]) == (
        MART, "early_intervention", "raw_home_sensors",
    )  # fmt: skip
    assert "permits only housing_condition, public_health, research" in finding["reason"]
    assert "raw_home_sensors" in evaluation.description
    assert _latest_outcome(roles_url, "purpose_limitation") == "failed"
    assert _analyst_reads(roles_url) == V1, "analysts must keep the last good version"
