"""Contracts become blocking Dagster checks: a broken delivery stops everything downstream."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from orchestration.factories.soda_checks import build_soda_checks
from orchestration.resources import PostgresResource
from quality.contract_files import ContractError, load_contracts, read_contract
from tests.quality.conftest import insert_rows, police_rows

POLICE_KEY = dg.AssetKey(["raw_police", "incidents"])


def test_contracts_map_to_the_asset_keys_they_cover(tmp_path):
    contracts = {
        c.path.relative_to(c.path.parents[2 if c.layer == "raw" else 1]): c
        for c in load_contracts()
    }
    police = next(c for c in contracts.values() if c.dataset == "raw_police.incidents")
    assert police.asset_key_path == ["raw_police", "incidents"]
    assert police.blocking and police.check_name == "soda_raw_contract"

    for layer, schema, blocking in [
        ("staging", "staging", False),
        ("core", "core", True),
        ("marts", "marts_build", True),
    ]:
        path = tmp_path / layer / "some_model.yml"
        path.parent.mkdir()
        path.write_text(
            f"dataset: jigsaw/${{var.database}}/{schema}/some_model\n"
            "variables: {database: {type: string}}\ncolumns: [{name: a}]\n"
        )
        contract = read_contract(path, tmp_path)
        assert contract.asset_key_path == ["some_model"]
        assert contract.blocking is blocking
        assert contract.severity == ("error" if blocking else "warn")

    checks = build_soda_checks([police], known_asset_keys={POLICE_KEY})
    assert [next(iter(c.check_keys)) for c in checks] == [
        dg.AssetCheckKey(POLICE_KEY, "soda_raw_contract")
    ]
    assert build_soda_checks([police], known_asset_keys={dg.AssetKey(["other"])}) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("dataset: jigsaw/${var.database}/raw_police/other\n", "does not match its path"),
        ("checks: [", "cannot read"),
        ("dataset: raw_police.incidents\n", "`dataset` must be"),
    ],
)
def test_a_malformed_contract_fails_naming_its_file(tmp_path, text, message):
    path = tmp_path / "raw" / "police" / "incidents.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text + "variables: {database: {type: string}}\ncolumns: [{name: a}]\n")
    with pytest.raises(ContractError, match=message) as error:
        read_contract(path, tmp_path)
    assert str(path) in str(error.value)


def test_every_shipped_contract_is_valid_soda_and_a_typo_is_caught(tmp_path):
    assert load_contracts(validate=True)
    path = tmp_path / "raw" / "police" / "incidents.yml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "dataset: jigsaw/${var.database}/raw_police/incidents\n"
        "variables: {database: {type: string}}\n"
        "columns:\n  - name: sex\n    checks:\n      - invalid:\n"
        "          valid_valuez: [M, F]\n"
    )
    with pytest.raises(ContractError, match="invalid Soda contract") as error:
        load_contracts(tmp_path, validate=True)
    assert str(path) in str(error.value)


def _pipeline(rows_per_run: list[list[dict]], downstream_runs: list[int]):
    """A raw asset that loads the next delivery, its contract check, and a downstream asset."""
    deliveries = iter(rows_per_run)

    @dg.asset(key=POLICE_KEY)
    def incidents(database: PostgresResource) -> None:
        with database.connect() as conn:
            insert_rows(conn, "raw_police.incidents", next(deliveries))

    @dg.asset(deps=[POLICE_KEY])
    def stg_police__incidents() -> None:
        downstream_runs.append(1)

    police = next(c for c in load_contracts() if c.dataset == "raw_police.incidents")
    return [incidents, stg_police__incidents], build_soda_checks([police])


def _database(url: str) -> dict:
    return {"database": PostgresResource(url=url)}


def test_broken_delivery_fails_the_raw_gate_and_nothing_downstream_runs(raw_database_url):
    good = police_rows("2026-01", 20)
    broken = police_rows("2026-02", 20, start=100)
    broken[5]["sex"] = "unknown"  # a value the sharing body never uses
    downstream_runs: list[int] = []
    assets, checks = _pipeline([good, broken], downstream_runs)

    first = dg.materialize([*assets, *checks], resources=_database(raw_database_url))
    assert first.success and downstream_runs == [1]

    second = dg.materialize(
        [*assets, *checks], resources=_database(raw_database_url), raise_on_error=False
    )
    assert not second.success
    assert downstream_runs == [1], "the downstream asset ran after a failed blocking gate"
    materialized = {e.asset_key for e in second.get_asset_materialization_events()}
    assert materialized == {POLICE_KEY}
    [evaluation] = second.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    failed = evaluation.metadata["failed_checks"].value
    assert [(c["column"], c["type"]) for c in failed] == [("sex", "invalid")]
    assert "invalid_count: 1" in failed[0]["diagnostics"]
    [sample] = evaluation.metadata["failing_rows"].value.values()
    assert sample == [
        {
            "_delivery_id": "police/2026-02-28/incidents_2026-02.csv",
            "_source_row_number": 6,
            "sex": "unknown",
        }
    ]

    # Both verdicts are in the history table, so the trend can be queried.
    with psycopg.connect(raw_database_url) as conn:
        trend = conn.execute(
            "select outcome, severity, run_id from quality.check_results "
            "where dataset = 'raw_police.incidents' and check_name = 'soda_raw_contract' "
            "order by checked_at, id"
        ).fetchall()
    assert [(o, s) for o, s, _ in trend] == [("passed", "ERROR"), ("failed", "ERROR")]
    assert trend[0][2] == first.run_id and trend[1][2] == second.run_id
