"""Retention: each night, delete what the bodies' sharing agreements no longer let us keep.

The ``retention`` job purges every extract period past its body's retention
(``ingestion.retention``) and deletes the files delivered for it from landing, then rebuilds
dbt's incremental tables from scratch so no derived row of a purged period survives there; the
next regional build republishes the marts without them. Its schedule runs by default: keeping
data past an agreement is not an opt-in matter.
"""

import datetime as dt

import dagster as dg
from dagster_dbt import DbtCliResource

from ingestion.retention import delete_landed_files, purge_expired
from ingestion.spec import load_specs
from jigsaw.paths import landing_dir
from orchestration.attribution import launch_tags
from orchestration.defs.dbt import manifest_path
from orchestration.resources import DATABASE, PostgresResource
from quality.dbt_vars import dbt_vars_arguments

# dbt models that keep rows between runs (materialized incremental): the only place derived
# rows of a purged period could outlive it. Selected by their config, so the models own the list.
INCREMENTAL_MODELS = "config.materialized:incremental"


class RetentionConfig(dg.Config):
    as_of: str | None = None  # YYYY-MM-DD; default today
    delete_landed_files: bool = True  # the delivered files of expired periods, in landing


@dg.op(out=dg.Out(int))
def purge_expired_periods(
    context: dg.OpExecutionContext, config: RetentionConfig, database: PostgresResource
) -> int:
    """Deletes raw, identity and quarantined rows of every period past retention, and its
    delivered files in landing."""
    as_of = dt.date.fromisoformat(config.as_of) if config.as_of else dt.date.today()
    specs = load_specs()
    with database.connect() as conn:
        purged = purge_expired(conn, specs, as_of)
        files = []
        if config.delete_landed_files:
            files = delete_landed_files(conn, specs, landing_dir(), as_of)
    for s in purged:
        context.log.info(
            f"expired {s.body}.{s.entity} {s.period}: {s.raw_rows} raw, {s.identity_rows} "
            f"identity and {s.quarantined_rows} quarantined rows deleted"
        )
    context.add_output_metadata(
        {
            "as_of": as_of.isoformat(),
            "periods_expired": len(purged),
            "raw_rows_deleted": sum(s.raw_rows for s in purged),
            "identity_rows_deleted": sum(s.identity_rows for s in purged),
            "quarantined_rows_deleted": sum(s.quarantined_rows for s in purged),
            "landed_files_deleted": len(files),
            "expired": dg.MetadataValue.md(
                "\n".join(f"- {s.body}.{s.entity} {s.period}" for s in purged) or "nothing"
            ),
        }
    )
    return len(purged)


@dg.op
def rebuild_incremental_models(
    context: dg.OpExecutionContext,
    dbt: DbtCliResource,
    database: PostgresResource,
    periods_expired: int,
) -> None:
    """After a purge, rebuilds the incremental tables in full (a no-op when nothing expired)."""
    if not periods_expired:
        context.log.info("nothing expired: the incremental tables hold nothing to drop")
        return
    with database.subprocess_env():  # profiles.yml reads JIGSAW_DB_* when dbt starts
        invocation = dbt.cli(
            ["run", "--full-refresh", "--select", INCREMENTAL_MODELS,
             *dbt_vars_arguments()],
            manifest=manifest_path,
        )  # fmt: skip
    invocation.wait()


@dg.job(description="Deletes every extract period past its body's retention, then rebuilds "
        "dbt's incremental tables without them.")  # fmt: skip
def retention():
    rebuild_incremental_models(purge_expired_periods())


nightly_retention = dg.ScheduleDefinition(
    name="nightly_retention",
    tags=launch_tags("nightly_retention", launched_by="schedule:nightly_retention"),
    job=retention,
    cron_schedule="0 1 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Enforces the sharing agreements' retention every night, before the nightly "
    "regional build.",
)

defs = dg.Definitions(
    jobs=[retention], schedules=[nightly_retention], resources={"database": DATABASE}
)
