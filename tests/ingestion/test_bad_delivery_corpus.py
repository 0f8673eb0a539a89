"""The corpus of bad deliveries (tests/ingestion/corpus.py) through each body's real Dagster
job: every file ends loaded, loaded with quarantined rows, rejected or held, as expected, and
no file stops the others. One Dagster run per body covers all of its files."""

from __future__ import annotations

import dagster as dg
import psycopg

from orchestration.cli.landing_runs import materialize_landing
from orchestration.factories.ingestion_assets import APPLIED_CHECK
from tests.ingestion import corpus
from tests.ingestion import deliveries as d

BODIES = ("police", "acute_trust", "revenues_benefits", "housing_provider", "home_sensors")


def _quarantine_reasons(db: psycopg.Connection, delivery_id: str) -> list[str]:
    rows = db.execute(
        "select reason from ingestion.quarantine where delivery_id = %s", (delivery_id,)
    ).fetchall()
    return [r[0] for r in rows]


def test_every_bad_delivery_ends_as_expected_through_the_bodys_job(db, landing, specs):
    expected = corpus.write_corpus(landing)
    assert len(corpus.KINDS) >= 30
    # And a corrected re-delivery that would empty a loaded period: held, not applied.
    good = "housing_provider/2030-02-03/tenancies_2030-01.json"
    emptied = "housing_provider/2030-02-10/tenancies_2030-01.json"
    d.write_json(d.folder(landing, "housing_provider", "2030-02-03") / "tenancies_2030-01.json",
                 {"tenancies": [d.tenancy(1), d.tenancy(2)]})  # fmt: skip
    d.write_json(d.folder(landing, "housing_provider", "2030-02-10") / "tenancies_2030-01.json",
                 {"tenancies": []})  # fmt: skip
    expected[good] = corpus.Outcome("superseded")  # not: it stays loaded (checked below)
    expected[emptied] = corpus.Outcome("held_for_review", 0, 0, cause="would replace 2 rows")

    chosen = [s for s in specs if s.body in BODIES]
    with dg.DagsterInstance.ephemeral() as instance:
        summary = materialize_landing(instance, chosen, landing)
        assert set(summary.runs) == set(BODIES)
        # The held delivery fails the blocking check of its body's run, naming the file.
        assert not summary.succeeded["housing_provider"]
        assert all(summary.succeeded[b] for b in BODIES if b != "housing_provider")
        evaluations = instance.get_records_for_run(
            summary.runs["housing_provider"],
            of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        ).records
        applied = [
            r.event_log_entry.dagster_event.event_specific_data
            for r in evaluations
            if r.event_log_entry.dagster_event.event_specific_data.check_name == APPLIED_CHECK
            and r.event_log_entry.dagster_event.event_specific_data.asset_key
            == dg.AssetKey(["raw_housing_provider", "tenancies"])
        ]
        assert [e.passed for e in applied] == [False]
        assert emptied in applied[0].description

    ledger = {
        row[0]: row[1:]
        for row in db.execute(
            "select delivery_id, status, rows_loaded, rows_quarantined, error"
            " from ingestion.deliveries"
        ).fetchall()
    }
    expected[good] = corpus.Outcome("loaded", 2, 0)
    mismatches = []
    for delivery_id, outcome in expected.items():
        status, loaded, quarantined, error = ledger.get(delivery_id, (None,) * 4)
        found = (status, loaded, quarantined)
        wanted = (outcome.status, outcome.loaded, outcome.quarantined)
        if outcome.status == "rejected":
            found, wanted = status, outcome.status
        if found != wanted:
            mismatches.append(f"{delivery_id}: expected {wanted}, found {found} ({error})")
            continue
        if outcome.cause is None:
            continue
        causes = [error or ""] + _quarantine_reasons(db, delivery_id)
        if not any(outcome.cause in c for c in causes):
            mismatches.append(f"{delivery_id}: no {outcome.cause!r} in {causes}")
    assert not mismatches, "\n".join(mismatches)
    # Nothing lost in any accepted file: delivered = loaded + quarantined.
    unbalanced = db.execute(
        "select delivery_id from ingestion.deliveries where status = 'loaded'"
        " and rows_delivered <> rows_loaded + rows_quarantined"
    ).fetchall()
    assert unbalanced == []
    assert (
        db.execute(
            "select count(*) from raw_housing_provider.tenancies__lineage where _delivery_id = %s",
            (good,),
        ).fetchone()[0]
        == 2
    )
