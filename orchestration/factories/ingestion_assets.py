"""Ingestion as Dagster definitions, built from the source specs: no Python per body.

For each body: one asset per entity (key ``["raw_<body>", "<entity>"]``, group ``<body>``),
partitioned by delivery period (dynamic partitions ``<body>__periods``, one run may load many
periods); a ``deliveries_accepted`` check per entity that warns about rejected files; a job
``<body>__ingestion``; and a sensor ``<body>__deliveries_sensor`` that adds the periods of newly
landed files and requests runs for them: one run per range of neighbouring periods with new
files, so a body's history pays one run's start-up, not one per period.
"""

# No `from __future__ import annotations`: Dagster reads resource annotations at runtime.

import hashlib
import json
import logging
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from ingestion import ledger
from ingestion.folder_load import load_folder
from ingestion.landing import (
    Delivery,
    delivery_for,
    file_sha256,
    period_number,
    period_of,
)
from ingestion.pseudonymise import MissingKeyError
from ingestion.raw_tables import LINEAGE_COLUMNS, raw_columns
from ingestion.spec import Entity, SourceSpec
from jigsaw.paths import landing_dir as default_landing_dir
from orchestration.attribution import launch_tags
from orchestration.executor import STEP_EXECUTOR
from orchestration.instance import RUN_RETRY_TAGS
from orchestration.partition_reports import PROBLEM_STATUSES, report_partitions
from orchestration.periods import PeriodPartitionsDefinition
from orchestration.resources import DATABASE, PostgresResource
from quality.schema import require_quality_schema

log = logging.getLogger(__name__)

ACCEPTED_CHECK = "deliveries_accepted"
APPLIED_CHECK = "deliveries_applied"
UP_TO_DATE_CHECK = "deliveries_up_to_date"


def partitions_name(spec: SourceSpec) -> str:
    return f"{spec.body}__periods"


def asset_key(spec: SourceSpec, entity: Entity) -> dg.AssetKey:
    return dg.AssetKey([spec.raw_schema, entity.name])


def job_name(spec: SourceSpec) -> str:
    return f"{spec.body}__ingestion"


def sensor_name(spec: SourceSpec) -> str:
    return f"{spec.body}__deliveries_sensor"


def _table_schema(entity: Entity) -> dg.TableSchema:
    described = {c.raw_name: c.description for c in entity.columns if c.raw_name}
    for column in entity.columns:
        if column.linkage == "nhs_number":
            described[f"{column.name}_is_valid"] = "The NHS number passed the modulus-11 check."
    columns = [dg.TableColumn(name, kind, "lineage") for name, kind in LINEAGE_COLUMNS]
    columns += [
        dg.TableColumn(name, kind, described.get(name, "")) for name, kind in raw_columns(entity)
    ]
    return dg.TableSchema(columns=columns)


def _definition_metadata(spec: SourceSpec, entity: Entity) -> dict:
    agreement = spec.sharing_agreement
    return {
        "dagster/column_schema": _table_schema(entity),
        "dagster/table_name": f"{spec.raw_schema}.{entity.name}",
        "body": spec.title,
        "owner": spec.owner,
        "sharing_agreement": agreement.reference,
        "permitted_purposes": ", ".join(agreement.permitted_purposes),
        "lawful_basis": agreement.lawful_basis,
        "retention_months": agreement.retention_months,
        "format": entity.format,
        "file_pattern": entity.file_pattern,
        "primary_key": ", ".join(entity.primary_key),
    }


def _landing(landing_dir: Path | None) -> Path:
    return landing_dir or default_landing_dir()


def _build_asset(
    spec: SourceSpec,
    entity: Entity,
    partitions: dg.DynamicPartitionsDefinition,
    landing_dir: Path | None,
) -> dg.AssetsDefinition:
    with warnings.catch_warnings():
        # backfill_policy is marked beta, and single-run backfills are what we want here.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _decorate_asset(spec, entity, partitions, landing_dir)


def _decorate_asset(
    spec: SourceSpec,
    entity: Entity,
    partitions: dg.DynamicPartitionsDefinition,
    landing_dir: Path | None,
) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(spec, entity),
        group_name=spec.body,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=entity.description,
        kinds={"postgres"},
        tags={"body": spec.body, "layer": "raw"},
        metadata=_definition_metadata(spec, entity),
    )
    def _load(context: dg.AssetExecutionContext, database: PostgresResource):
        periods = list(context.partition_keys)
        wanted = set(periods)
        try:
            with database.connect() as conn:
                results = load_folder(
                    conn,
                    [spec],
                    _landing(landing_dir),
                    lambda d: d.entity == entity.name and d.period in wanted,
                ).results
                # The load run's setup, once per run (a run loads all its periods in this one
                # step), not per tick or check: load_folder makes the body's raw and ledger
                # tables, which its sensor and checks only read, and here the check history,
                # which the raw gates that follow only append to. A body added to the specs gets
                # its tables at its first load this way, without a start-up step that must know
                # every body.
                require_quality_schema(conn)
        except MissingKeyError as exc:  # one clear line in the run, not a traceback
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        for result in results:
            if result.status in PROBLEM_STATUSES:
                context.log.error(f"{result.delivery_id}: {result.status}: {result.error}")
            else:
                context.log.info(
                    f"{result.delivery_id}: {result.status}, {result.rows_loaded} rows loaded, "
                    f"{result.rows_quarantined} quarantined"
                )
        if not results:
            context.log.warning(f"no {entity.name} delivery in landing for {', '.join(periods)}")
        return report_partitions(context, asset_key(spec, entity), ACCEPTED_CHECK, results)

    return _load


def _build_check(spec: SourceSpec, entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key(spec, entity),
        name=ACCEPTED_CHECK,
        description=(
            "Warns while a delivered file was rejected whole (unreadable as its spec says) "
            "and no later delivery of the same period was accepted."
        ),
    )
    def _accepted(database: PostgresResource) -> dg.AssetCheckResult:
        with database.connect() as conn:
            if not ledger.exists(conn):
                return dg.AssetCheckResult(passed=True, description="no deliveries yet")
            unresolved = ledger.unresolved_rejections(conn, spec.body, entity.name)
            every = ledger.rejected(conn, spec.body, entity.name)
        metadata = {"unresolved_rejections": len(unresolved), "rejections_ever": len(every)}
        if unresolved:
            metadata["rejected_files"] = dg.MetadataValue.md(
                "\n".join(f"- {delivery_id}: {reason}" for delivery_id, reason in unresolved)
            )
        return dg.AssetCheckResult(
            passed=not unresolved,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=metadata,
            description=(
                f"{len(unresolved)} rejected file(s) await a corrected delivery"
                if unresolved
                else "every delivered file was accepted or has been corrected"
            ),
        )

    return _accepted


def _build_applied_check(spec: SourceSpec, entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key(spec, entity),
        name=APPLIED_CHECK,
        blocking=True,
        description=(
            "Fails while a delivery is held for review (it would shrink its period beyond the "
            "spec's row_count_tolerance) or failed to load (retried later, bounded); names "
            "the files."
        ),
    )
    def _applied(database: PostgresResource) -> dg.AssetCheckResult:
        with database.connect() as conn:
            waiting = (
                ledger.not_applied(conn, spec.body, entity.name) if ledger.exists(conn) else []
            )
        metadata: dict = {"deliveries_not_applied": len(waiting)}
        if waiting:
            metadata["deliveries"] = dg.MetadataValue.md(
                "\n".join(f"- {d}: {status}: {cause}" for d, status, cause in waiting)
            )
        return dg.AssetCheckResult(
            passed=not waiting,
            metadata=metadata,
            description=(
                "; ".join(f"{d} {status}" for d, status, _ in waiting)
                + " (python -m ingestion deliveries list)"
                if waiting
                else "every delivery applied or settled"
            ),
        )

    return _applied


def missing_periods(delivered: set[str], every: int, region_latest: str) -> list[str]:
    """Periods due from the extract's first delivered one up to the region's latest (one every
    ``every`` months) that it has not delivered."""
    if not delivered:
        return []
    due = range(period_number(min(delivered)), period_number(region_latest) + 1, every)
    return [p for p in map(period_of, due) if p not in delivered]


def up_to_date_check_key(spec: SourceSpec, entity: Entity) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(asset_key(spec, entity), UP_TO_DATE_CHECK)


def _build_up_to_date_check(
    spec: SourceSpec, entity: Entity, scheduled: list[tuple[str, str]]
) -> dg.AssetChecksDefinition:
    """Warns while the extract lags the region: periods the other bodies have delivered up to,
    or gaps before that, that it has not. Measured on the region's own clock (the newest
    period any scheduled extract delivered), so a region whose data are historical (the demo)
    is not late, and a body that stops delivering shows when the others move on."""
    every = entity.delivery_every_months or 1

    @dg.asset_check(
        asset=asset_key(spec, entity),
        name=UP_TO_DATE_CHECK,
        description=(
            f"Warns while a period that is due (one every {every} month(s), up to the newest "
            "period the region's scheduled extracts have delivered) has not been delivered."
        ),
    )
    def _up_to_date(database: PostgresResource) -> dg.AssetCheckResult:
        with database.connect() as conn:
            if not ledger.exists(conn):  # a check reads the ledger; loads create it
                return dg.AssetCheckResult(passed=True, description="no deliveries yet")
            delivered = ledger.delivered_periods(conn, spec.body, entity.name)
            region_latest = ledger.latest_delivered_period(conn, scheduled)
        if region_latest is None:
            return dg.AssetCheckResult(passed=True, description="no deliveries in the region yet")
        missing = missing_periods(delivered, every, region_latest)
        latest = max(delivered) if delivered else None
        metadata = {
            "latest_period": latest or "none",
            "region_latest_period": region_latest,
            "missing_periods": len(missing),
        }
        if missing:
            metadata["missing"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in missing))
        if latest is None:
            description = f"nothing delivered yet; the region has periods up to {region_latest}"
        elif missing:
            description = f"{len(missing)} due period(s) not delivered: {', '.join(missing[:6])}"
        else:
            description = f"every period up to {region_latest} delivered"
        return dg.AssetCheckResult(
            passed=latest is not None and not missing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=metadata,
            description=description,
        )

    return _up_to_date


@dataclass
class _SensorCursor:
    """Files already hashed (path -> [size:mtime, sha256]), so a tick re-reads only new files."""

    files: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> "_SensorCursor":
        return cls(json.loads(text)) if text else cls()

    def dump(self) -> str:
        return json.dumps(self.files, sort_keys=True)


def _period_run_key(period: str, found: list[tuple[Delivery, str]], retries: dict) -> str:
    """The run key of a period's pending files: a failed load is requested again under a new
    key per attempt, as Dagster launches a run key once."""
    return f"{period}:" + ",".join(
        sorted(
            sha[:16] + (f"#{retries[d.delivery_id]}" if d.delivery_id in retries else "")
            for d, sha in found
        )
    )


def contiguous_groups(
    by_period: dict[str, list[tuple[Delivery, str]]], order: list[str]
) -> list[list[str]]:
    """The pending periods in runs of neighbours in the partitions' order (what a partition
    range covers) that want the same entities: each group can be one run over its range
    without loading a period, or an entity, that has nothing new."""
    groups: list[list[str]] = []
    previous_entities = None
    previous_position = None
    for position, period in enumerate(order):
        if period not in by_period:
            continue
        entities = {d.entity for d, _ in by_period[period]}
        if groups and previous_position == position - 1 and entities == previous_entities:
            groups[-1].append(period)
        else:
            groups.append([period])
        previous_entities, previous_position = entities, position
    return groups


IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def periods_in_flight(instance: dg.DagsterInstance, job: str, order: list[str]) -> set[str]:
    """Periods a queued or running run of the body's job covers: a tick must not request them
    again inside a bigger range (a per-period run key would have deduplicated them)."""
    busy: set[str] = set()
    for run in instance.get_runs(filters=dg.RunsFilter(job_name=job, statuses=IN_FLIGHT)):
        tags = run.tags
        if "dagster/partition" in tags:
            busy.add(tags["dagster/partition"])
        start = tags.get("dagster/asset_partition_range_start")
        end = tags.get("dagster/asset_partition_range_end")
        if start in order and end in order:
            busy.update(order[order.index(start) : order.index(end) + 1])
    return busy


def _build_sensor(
    spec: SourceSpec,
    partitions: dg.DynamicPartitionsDefinition,
    job,
    landing_dir: Path | None,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=sensor_name(spec),
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Loads {spec.title} deliveries when they land in landing/{spec.body}/.",
    )
    def _deliveries(context: dg.SensorEvaluationContext, database: PostgresResource):
        cursor = _SensorCursor.parse(context.cursor)
        root = _landing(landing_dir)
        pending: list[tuple[Delivery, str]] = []
        for path in sorted((root / spec.body).glob("*/*")):
            delivery = delivery_for(spec, path) if path.is_file() else None
            if delivery is None:
                continue
            stat = path.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
            known = cursor.files.get(delivery.delivery_id)
            if known is None or known[0] != stamp:
                known = cursor.files[delivery.delivery_id] = [stamp, file_sha256(path)]
            pending.append((delivery, known[1]))
        if not pending:
            return dg.SkipReason(f"no deliveries in {root / spec.body}")
        try:
            with database.connect() as conn:
                known = ledger.exists(conn)
                recorded = ledger.recorded_files(conn, spec.body) if known else set()
                retries = ledger.retries_due(conn, spec.body) if known else {}
        except Exception as exc:  # the database may be down; try again next tick
            return dg.SkipReason(f"cannot read the delivery ledger: {exc}")
        existing = list(context.instance.get_dynamic_partitions(partitions.name))
        busy = periods_in_flight(context.instance, job.name, existing)
        pending = [
            (d, sha)
            for d, sha in pending
            if (d.entity, d.period, sha) not in recorded and d.period not in busy
        ]
        by_period: dict[str, list[tuple[Delivery, str]]] = defaultdict(list)
        for delivery, sha in pending:
            by_period[delivery.period].append((delivery, sha))
        new_periods = sorted(set(by_period) - set(existing))
        keys = {
            period: _period_run_key(period, found, retries) for period, found in by_period.items()
        }
        requests = []
        for group in contiguous_groups(by_period, [*existing, *new_periods]):
            found = [item for period in group for item in by_period[period]]
            tags = {
                "jigsaw/deliveries": ",".join(d.delivery_id for d, _ in found)[:4000],
                **launch_tags(sensor_name(spec), launched_by=f"sensor:{sensor_name(spec)}"),
            }
            if len(group) == 1:
                run_key, partition_key = keys[group[0]], group[0]
            else:
                # One run loads the whole range (the assets' single-run backfill policy), so a
                # body's history landing at once pays one run's start-up, not one per period.
                digest = hashlib.sha256("\n".join(keys[p] for p in group).encode()).hexdigest()
                run_key, partition_key = f"{group[0]}..{group[-1]}:{digest[:16]}", None
                tags["dagster/asset_partition_range_start"] = group[0]
                tags["dagster/asset_partition_range_end"] = group[-1]
            requests.append(
                dg.RunRequest(
                    run_key=run_key,
                    partition_key=partition_key,
                    asset_selection=sorted(
                        {asset_key(spec, spec.entities_by_name[d.entity]) for d, _ in found},
                        key=lambda k: k.to_user_string(),
                    ),
                    tags=tags,
                )
            )
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=(
                [partitions.build_add_request(new_periods)] if new_periods else []
            ),
            cursor=cursor.dump(),
        )

    return _deliveries


def build_ingestion_defs(
    specs: list[SourceSpec], landing_dir: Path | None = None
) -> dg.Definitions:
    """Assets, checks, a job and a sensor per body, from the specs alone.

    ``landing_dir`` defaults to ``jigsaw.paths.landing_dir()`` read when a run starts.
    """
    assets, checks, jobs, sensors = [], [], [], []
    scheduled = [(s.body, e.name) for s in specs for e in s.entities if e.delivery_every_months]
    for spec in specs:
        partitions = PeriodPartitionsDefinition(name=partitions_name(spec))
        keys = []
        for entity in spec.entities:
            assets.append(_build_asset(spec, entity, partitions, landing_dir))
            checks.append(_build_check(spec, entity))
            checks.append(_build_applied_check(spec, entity))
            if entity.delivery_every_months:
                checks.append(_build_up_to_date_check(spec, entity, scheduled))
            keys.append(asset_key(spec, entity))
        job = dg.define_asset_job(
            name=job_name(spec),
            selection=dg.AssetSelection.assets(*keys),
            description=f"Load {spec.title} deliveries into {spec.raw_schema}.",
            tags={"body": spec.body, **RUN_RETRY_TAGS},
            executor_def=STEP_EXECUTOR,
        )
        jobs.append(job)
        sensors.append(_build_sensor(spec, partitions, job, landing_dir))
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        sensors=sensors,
        resources={"database": DATABASE},
    )
