"""Per-partition truth through real Dagster runs: each delivery period's materialisation carries
its own figures, even when one run loads many periods; a rejected file tags the run and fails a
WARN check on its own partition."""

from __future__ import annotations

import dagster as dg

from orchestration.cli.landing_runs import materialize_landing
from orchestration.factories.ingestion_assets import ACCEPTED_CHECK
from orchestration.partition_reports import problem_tag
from tests.ingestion import deliveries as d

KEY = dg.AssetKey(["raw_police", "incidents"])


def _by_partition(instance: dg.DagsterInstance) -> list[tuple[str, dict]]:
    records = instance.fetch_materializations(KEY, limit=20, ascending=True).records
    return [
        (r.partition_key, {k: v.value for k, v in r.asset_materialization.metadata.items()})
        for r in records
    ]


def test_one_run_over_three_periods_gives_each_its_own_figures(db, landing, specs):
    police = [s for s in specs if s.body == "police"]
    first = d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1), d.police_row(2)])
    rows = [d.police_row(i) for i in range(3, 8)] + [d.police_row(8, DOB="not a date")]
    second = d.police_file(landing, "2026-03-03", "2026-02", rows)
    (d.folder(landing, "police", "2026-04-03") / "incidents_2026-03.csv").write_bytes(b"")

    with dg.instance_for_test() as instance:
        summary = materialize_landing(instance, police, landing)
        assert summary.all_succeeded
        [run_id] = summary.runs.values()

        periods = _by_partition(instance)
        # One materialisation per partition from the one run, each with its own figures.
        assert sorted(p for p, _ in periods) == ["2026-01", "2026-02", "2026-03"]
        figures = {p: m for p, m in periods}
        assert (figures["2026-01"]["rows_loaded"], figures["2026-01"]["rows_quarantined"]) == (2, 0)
        assert (figures["2026-02"]["rows_loaded"], figures["2026-02"]["rows_quarantined"]) == (5, 1)
        assert figures["2026-01"]["bytes"] == first.stat().st_size
        assert figures["2026-02"]["bytes"] == second.stat().st_size
        assert figures["2026-01"]["file_sha256"] != figures["2026-02"]["file_sha256"]
        assert figures["2026-03"]["rows_loaded"] == 0
        assert figures["2026-03"]["status"] == "rejected"
        assert "empty file" in figures["2026-03"]["problems"]
        assert "file_sha256" not in figures["2026-03"]  # nothing of it reached raw

        # The run that rejected a file says so in its tags, which the Runs list filters on.
        run = instance.get_run_by_id(run_id)
        assert run.tags.get(problem_tag("rejected")) == "true"
        tagged = instance.get_runs(dg.RunsFilter(tags={problem_tag("rejected"): "true"}))
        assert [r.run_id for r in tagged] == [run_id]

        # ... and the rejected period's partition has a failed WARN verdict with the reason.
        events = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        verdicts = [
            e.event_log_entry.dagster_event.event_specific_data
            for e in events
            if e.event_log_entry.dagster_event.event_specific_data.check_name == ACCEPTED_CHECK
        ]
        on_partition = [v for v in verdicts if v.partition == "2026-03"]
        assert len(on_partition) == 1
        [verdict] = on_partition
        assert verdict.passed is False and verdict.severity == dg.AssetCheckSeverity.WARN
        assert "incidents_2026-03.csv" in verdict.description
        assert "empty file" in verdict.description
        assert not any(v.partition in ("2026-01", "2026-02") for v in verdicts)


def test_a_clean_run_is_not_tagged(db, landing, specs):
    police = [s for s in specs if s.body == "police"]
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    with dg.instance_for_test() as instance:
        summary = materialize_landing(instance, police, landing)
        [run_id] = summary.runs.values()
        assert problem_tag("rejected") not in instance.get_run_by_id(run_id).tags
        [(period, metadata)] = _by_partition(instance)
        assert period == "2026-01" and metadata["rows_loaded"] == 1


# Six periods, registered and landed out of order; each delivery a different number of rows.
SHUFFLED_PERIODS = {"2025-10": 4, "2025-07": 1, "2025-12": 6, "2025-09": 3, "2025-11": 5}
SHUFFLED_PERIODS["2025-08"] = 2


def test_one_run_writes_its_periods_materialisations_in_period_order(db, landing, specs):
    police = [s for s in specs if s.body == "police"]
    first_row = 1
    for period, rows in SHUFFLED_PERIODS.items():
        year, month = (int(part) for part in period.split("-"))
        delivered = f"{year + month // 12}-{month % 12 + 1:02d}-03"  # the month after
        rows_of_period = [d.police_row(i) for i in range(first_row, first_row + rows)]
        d.police_file(landing, delivered, period, rows_of_period)
        first_row += rows

    with dg.instance_for_test() as instance:
        # The body's partitions exist in landing order, as a sensor met them, not in order.
        instance.add_dynamic_partitions("police__periods", list(SHUFFLED_PERIODS))
        summary = materialize_landing(instance, police, landing)
        assert summary.all_succeeded
        [run_id] = summary.runs.values()

        records = instance.fetch_materializations(KEY, limit=50, ascending=True).records
        assert {r.run_id for r in records} == {run_id}  # one run loaded them all
        periods = [r.partition_key for r in records]
        assert periods == sorted(SHUFFLED_PERIODS), periods
        for record in records:
            metadata = record.asset_materialization.metadata
            assert metadata["period"].value == record.partition_key
            assert metadata["rows_loaded"].value == SHUFFLED_PERIODS[record.partition_key]
        latest = instance.get_latest_materialization_event(KEY).asset_materialization
        assert latest.partition == "2025-12"
        assert latest.metadata["rows_loaded"].value == SHUFFLED_PERIODS["2025-12"]
