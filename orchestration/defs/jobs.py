"""Jobs and schedules over the whole graph (assets come from the other defs modules)."""

from __future__ import annotations

import dagster as dg

from ingestion.spec import load_specs

# Ingestion assets are partitioned by delivery and launched by each body's sensor; everything
# downstream of them (linkage, dbt, checks, publishing, evaluation) is one regional build.
RAW_PREFIXES = [[spec.raw_schema] for spec in load_specs()]

regional_build = dg.define_asset_job(
    name="regional_build",
    selection=dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(*RAW_PREFIXES),
    description=(
        "Linkage, dbt staging/core/marts, quality gates and publishing of the marts, "
        "over everything loaded so far."
    ),
)

nightly_regional_build = dg.ScheduleDefinition(
    name="nightly_regional_build",
    job=regional_build,
    cron_schedule="30 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuilds the regional model and republishes the marts every night.",
)

defs = dg.Definitions(jobs=[regional_build], schedules=[nightly_regional_build])
