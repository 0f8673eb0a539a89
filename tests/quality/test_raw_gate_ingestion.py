"""The real ingestion asset, gated by its raw contract: a truncated delivery loads (no row is
wrong on its own) but fails the raw gate, and nothing downstream of it runs."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import psycopg

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from ingestion.spec import load_specs
from orchestration.factories.ingestion_assets import build_ingestion_defs
from orchestration.factories.soda_checks import build_soda_checks
from quality.contract_files import load_contracts

HEADER = [
    "INCIDENT_NO", "NOMINAL_ID", "SURNAME", "FORENAME", "DOB", "SEX", "ADDRESS", "POSTCODE",
    "INCIDENT_DATETIME", "INCIDENT_TYPE", "ROLE", "RISK",
]  # fmt: skip
POLICE_KEY = dg.AssetKey(["raw_police", "incidents"])


def deliver(landing: Path, delivered: str, period: str, rows: int) -> None:
    folder = landing / "police" / delivered
    folder.mkdir(parents=True)
    with (folder / f"incidents_{period}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                [
                    f"INC{period}{i:04d}",
                    f"NOM{i:05d}",
                    "SMITH",
                    "JO",
                    "01-02-1980",
                    "F",
                    f"{i} High Street",
                    "AB1 2CD",
                    f"03/{period[5:]}/{period[:4]} 10:15",
                    "theft",
                    "victim",
                    "standard",
                ]  # fmt: skip
            )


def test_truncated_delivery_fails_the_raw_gate_and_stops_downstream(
    raw_database_url, use_database, monkeypatch, tmp_path
):
    use_database(raw_database_url)
    monkeypatch.setenv(KEY_VARIABLE, DEMO_KEY)
    landing = tmp_path / "landing"
    deliver(landing, "2026-02-03", "2026-01", rows=40)
    deliver(landing, "2026-03-03", "2026-02", rows=4)  # a truncated extract: 90% fewer rows

    police = [s for s in load_specs() if s.body == "police"]
    partitions = dg.DynamicPartitionsDefinition(name="police__periods")
    staged: list[str] = []

    @dg.asset(deps=[POLICE_KEY], partitions_def=partitions)
    def stg_police__incidents(context) -> None:
        staged.append(context.partition_key)

    contract = next(c for c in load_contracts() if c.dataset == "raw_police.incidents")
    defs = dg.Definitions.merge(
        build_ingestion_defs(police, landing),
        dg.Definitions(
            assets=[stg_police__incidents],
            asset_checks=build_soda_checks([contract]),
            jobs=[
                dg.define_asset_job(
                    "police_and_staging",
                    selection=dg.AssetSelection.assets(POLICE_KEY, "stg_police__incidents"),
                )
            ],
        ),
    )
    job = defs.resolve_job_def("police_and_staging")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("police__periods", ["2026-01", "2026-02"])
        good = job.execute_in_process(instance=instance, partition_key="2026-01")
        assert good.success and staged == ["2026-01"]

        broken = job.execute_in_process(
            instance=instance, partition_key="2026-02", raise_on_error=False
        )
    assert not broken.success
    assert staged == ["2026-01"], "staging ran on a delivery that failed the raw gate"
    [evaluation] = [
        e for e in broken.get_asset_check_evaluations() if e.check_name == "soda_raw_contract"
    ]
    assert not evaluation.passed
    [failed] = evaluation.metadata["failed_checks"].value
    assert failed["type"] == "metric" and failed["value"] == 0.9  # (40 - 4) / 40
    # The rows were loaded (each is valid on its own); the gate is what stops them.
    with psycopg.connect(raw_database_url) as conn:
        loaded = conn.execute(
            "select _period, count(*) from raw_police.incidents group by 1 order by 1"
        ).fetchall()
    assert loaded == [("2026-01", 40), ("2026-02", 4)]
