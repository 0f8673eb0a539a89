"""Jobs and schedules over the whole graph (assets come from the other defs modules)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from ingestion.spec import load_specs
from orchestration.attribution import launch_tags
from orchestration.defs.analytics import EVALUATION as ANALYTICS_EVALUATION
from orchestration.defs.linkage import EVALUATION as LINKAGE_EVALUATION
from orchestration.executor import STEP_EXECUTOR
from orchestration.factories.ingestion_assets import asset_key, job_name, up_to_date_check_key
from orchestration.instance import RUN_RETRY_TAGS
from orchestration.slices import run_tags as slice_run_tags

# Ingestion assets are partitioned by delivery and launched by each body's sensor; everything
# downstream of them (linkage, dbt, checks, publishing, analytics) is one regional build, but
# the grading against the demo region's ground truth, which a real region has not.
SPECS = load_specs()
# What reads the ground truth: the demo grades with it after the build, no build runs it.
GRADING = dg.AssetSelection.assets(LINKAGE_EVALUATION, ANALYTICS_EVALUATION)
RAW_PREFIXES = [[spec.raw_schema] for spec in SPECS]
# Whether each extract is in step with the region: checked when the whole region is built, as a
# body that stops delivering never runs its own checks.
UP_TO_DATE_CHECKS = [
    up_to_date_check_key(spec, entity)
    for spec in SPECS
    for entity in spec.entities
    if entity.delivery_every_months
]

regional_build = dg.define_asset_job(
    name="regional_build",
    selection=(
        dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(*RAW_PREFIXES) - GRADING
        | dg.AssetSelection.checks(*UP_TO_DATE_CHECKS)
    ),
    description=(
        "Linkage, dbt staging/core/marts, quality gates and publishing of the marts, "
        "over everything loaded so far; and whether every body is in step with the region."
    ),
    tags=RUN_RETRY_TAGS,
    executor_def=STEP_EXECUTOR,
)

demo_evaluation = dg.define_asset_job(
    name="demo_evaluation",
    selection=GRADING,
    description=(
        "Grades the linkage and the analytics against the demo region's ground truth (make "
        "demo runs it after the regional build); the analytics' grading fails, naming the "
        "file, where there is no ground truth."
    ),
)

nightly_regional_build = dg.ScheduleDefinition(
    name="nightly_regional_build",
    tags=launch_tags("nightly_regional_build", launched_by="schedule:nightly_regional_build"),
    job=regional_build,
    cron_schedule="30 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuilds the regional model and republishes the marts every night.",
)


def downstream_build_name(body: str) -> str:
    return f"{body}__downstream_build"


def _downstream_build(spec) -> dg.UnresolvedAssetJobDefinition:
    """What one body's delivery can change: everything downstream of its raw assets (its staging,
    identity resolution when it holds people, and what is built on them), nothing else."""
    raw = dg.AssetSelection.assets(*(asset_key(spec, entity) for entity in spec.entities))
    return dg.define_asset_job(
        name=downstream_build_name(spec.body),
        selection=raw.downstream() - raw - GRADING,
        description=(
            f"After a {spec.title} delivery: what is downstream of {spec.raw_schema} only, and "
            "of the person-level models only the delivery's slice (its periods and the people "
            "identity resolution re-keyed; run tag jigsaw/slice says which)."
        ),
        tags=RUN_RETRY_TAGS,
        executor_def=STEP_EXECUTOR,
    )


DOWNSTREAM_BUILDS = {spec.body: _downstream_build(spec) for spec in SPECS}
INGESTION_JOBS = {job_name(spec): spec.body for spec in SPECS}


@dg.run_status_sensor(
    name="delivery_downstream_builds",
    run_status=dg.DagsterRunStatus.SUCCESS,
    request_jobs=list(DOWNSTREAM_BUILDS.values()),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "After a body's ingestion run succeeds, builds what is downstream of that body with the "
        "slice its deliveries changed (<body>__downstream_build); the nightly regional build "
        "rebuilds everything. Stopped by default: turn it on where builds should follow "
        "deliveries."
    ),
)
def delivery_downstream_builds(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    body = INGESTION_JOBS.get(run.job_name)
    if body is None:
        return dg.SkipReason(f"{run.job_name} is not an ingestion job")
    record = context.instance.get_run_record_by_id(run.run_id)
    started = record.start_time if record and record.start_time else record.create_timestamp
    since = started if isinstance(started, dt.datetime) else dt.datetime.fromtimestamp(started)
    return dg.RunRequest(
        run_key=f"after:{run.run_id}",
        job_name=downstream_build_name(body),
        tags={
            **slice_run_tags(body, since.astimezone(dt.UTC)),
            **launch_tags(
                "delivery_downstream_builds", launched_by="sensor:delivery_downstream_builds"
            ),
        },
    )


defs = dg.Definitions(
    jobs=[regional_build, demo_evaluation, *DOWNSTREAM_BUILDS.values()],
    schedules=[nightly_regional_build],
    sensors=[delivery_downstream_builds],
)
