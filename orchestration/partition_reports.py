"""What each delivery period's materialisation says: its own figures, not the run's.

One ingestion run may load many periods (a single-run backfill, or ``materialize_landing``).
Dagster writes one materialisation per partition; this module gives each its own rows loaded,
quarantined and delivered, bytes, seconds, file hash and deliveries (partition-scoped metadata,
``context.add_asset_metadata(..., partition_key=...)``), so the UI's Plots tab shows rows per
delivery. The materialisations come out in period order (orchestration/periods.py), so the
asset's latest one is its newest period's.

A period whose file was rejected or held also gets a failed ``deliveries_accepted`` evaluation
(WARN) on that partition, naming the file and the reason, and the run is tagged
``jigsaw/rejected=true`` (or ``jigsaw/held=true``, ``jigsaw/failed=true``) so the Runs list can
filter it and the alert sensor (orchestration/alerts.py) can say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import dagster as dg

from ingestion.loader import LoadResult

# Ledger statuses of a delivery that did not reach raw and awaits someone's action (a failed
# one is retried by itself first), and the run tag each puts on the run.
PROBLEM_TAGS = {"rejected": "rejected", "held_for_review": "held", "failed": "failed"}
PROBLEM_STATUSES = tuple(PROBLEM_TAGS)
# Statuses whose rows are in raw (the figures a period reports).
LOADED_STATUSES = ("loaded",)
RUN_TAG_PREFIX = "jigsaw/"


def problem_tag(status: str) -> str:
    return f"{RUN_TAG_PREFIX}{PROBLEM_TAGS[status]}"


def partition_metadata(period: str, results: list[LoadResult]) -> dict:
    """The figures of one period's deliveries in this run."""
    loaded = [r for r in results if r.status in LOADED_STATUSES]
    problems = [r for r in results if r.status in PROBLEM_STATUSES]
    metadata: dict = {
        "period": period,
        "rows_loaded": sum(r.rows_loaded for r in loaded),
        "rows_quarantined": sum(r.rows_quarantined for r in loaded),
        "rows_delivered": sum(r.rows_delivered for r in loaded),
        "bytes": sum(r.bytes for r in loaded),
        "seconds": round(sum(r.seconds for r in results), 3),
        "deliveries": len(results),
        "deliveries_loaded": len(loaded),
        "deliveries_rejected": sum(r.status == "rejected" for r in results),
        "status": ", ".join(sorted({r.status for r in results})) or "no delivery in landing",
    }
    if loaded:
        # The file now in raw for this period: the last one loaded.
        metadata["file_sha256"] = loaded[-1].file_sha256
        metadata["delivery_id"] = loaded[-1].delivery_id
    if results:
        lines = ["| delivery | status | loaded | quarantined | bytes | sha256 | note |"]
        lines.append("|---|---|---|---|---|---|---|")
        lines += [
            f"| {r.delivery_id} | {r.status} | {r.rows_loaded} | {r.rows_quarantined} | "
            f"{r.bytes} | {r.file_sha256[:12]} | {r.error or ''} |"
            for r in results
        ]
        metadata["delivery_table"] = dg.MetadataValue.md("\n".join(lines))
    if problems:
        metadata["problems"] = dg.MetadataValue.md(
            "\n".join(f"- {r.delivery_id}: {r.status}: {r.error}" for r in problems)
        )
    return metadata


def problem_evaluation(
    asset_key: dg.AssetKey, check_name: str, period: str, problems: list[LoadResult]
) -> dg.AssetCheckEvaluation:
    """A failed WARN verdict on the period's partition, with the reason in its description."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=check_name,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        partition=period,
        description=f"{first.delivery_id} {first.status}: {first.error}{more}",
        metadata={
            "period": period,
            "files": dg.MetadataValue.md(
                "\n".join(f"- {r.delivery_id}: {r.status}: {r.error}" for r in problems)
            ),
        },
    )


def report_partitions(
    context: dg.AssetExecutionContext,
    asset_key: dg.AssetKey,
    check_name: str,
    results: Iterable[LoadResult],
) -> dg.MaterializeResult:
    """Per-partition metadata, check verdicts and run tags for one ingestion asset's run."""
    periods = list(context.partition_keys)
    by_period: dict[str, list[LoadResult]] = defaultdict(list)
    for result in results:
        by_period[result.period].append(result)
    statuses: set[str] = set()
    for period in sorted(periods):
        found = by_period.get(period, [])
        context.add_asset_metadata(partition_metadata(period, found), partition_key=period)
        problems = [r for r in found if r.status in PROBLEM_STATUSES]
        if problems:
            context.log_event(problem_evaluation(asset_key, check_name, period, problems))
            statuses.update(r.status for r in problems)
    if statuses:
        context.instance.add_run_tags(context.run_id, {problem_tag(s): "true" for s in statuses})
    return dg.MaterializeResult(metadata={"periods_in_run": len(periods)})
