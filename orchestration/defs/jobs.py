"""Jobs and schedules over the whole graph (assets come from the other defs modules)."""

from __future__ import annotations

import dagster as dg

from ingestion.spec import load_specs
from orchestration.attribution import launch_tags
from orchestration.defs.analytics import EVALUATION
from orchestration.executor import STEP_EXECUTOR
from orchestration.factories.ingestion_assets import up_to_date_check_key
from orchestration.instance import RUN_RETRY_TAGS

# Ingestion assets are partitioned by delivery and launched by each body's sensor; everything
# downstream of them (linkage, dbt, checks, publishing, analytics) is one regional build, but
# the grading against the demo region's ground truth, which a real region has not.
SPECS = load_specs()
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
        dg.AssetSelection.all()
        - dg.AssetSelection.key_prefixes(*RAW_PREFIXES)
        - dg.AssetSelection.assets(EVALUATION)
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
    selection=dg.AssetSelection.assets(EVALUATION),
    description=(
        "Grades the analytics against the demo region's ground truth (make demo runs it after "
        "the regional build); fails, naming the file, where there is no ground truth."
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

defs = dg.Definitions(jobs=[regional_build, demo_evaluation], schedules=[nightly_regional_build])
