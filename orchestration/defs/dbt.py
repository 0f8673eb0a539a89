"""dbt models as Dagster assets (staging, intermediate, core, marts), dbt tests as asset checks.

Upstream: the ingestion assets ``["raw_<body>", "<entity>"]`` and the linkage assets
``["linkage", "person_xref" | "address_xref"]`` (dbt sources). Downstream: Python assets that
depend on a model's key, e.g. ``dg.AssetKey("early_intervention_features")``.
"""

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.factories.dbt_assets import (
    JigsawDbtTranslator,
    dbt_executable,
    ensure_manifest,
    jigsaw_dbt_project,
)
from orchestration.resources import DATABASE, PostgresResource
from orchestration.slices import TAG_SLICE, slice_env, slice_of_run
from quality.dbt_vars import dbt_vars_arguments

project = jigsaw_dbt_project()
manifest_path = ensure_manifest(project)


@dbt_assets(
    manifest=manifest_path,
    project=project,
    dagster_dbt_translator=JigsawDbtTranslator(),
    name="jigsaw_dbt",
)
def jigsaw_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, database: PostgresResource
):
    """``dbt build`` of the selected models: runs them, their unit tests and their data tests.

    A build after a delivery (run tags from orchestration.slices) passes the delivery's slice, so
    the person-level models replace only it; every materialisation and the run's tag
    ``jigsaw/slice`` say which slice was built ("everything" for the nightly build)."""
    with database.connect() as conn:
        delivery_slice = slice_of_run(conn, context.run.tags)
    if delivery_slice is None:
        built = "everything (no delivery slice)"
    else:
        built = delivery_slice.describe()
        context.instance.add_run_tags(context.run.run_id, {TAG_SLICE: built[:4000]})
    context.log.info(f"dbt build of the selected models; slice: {built}")
    # profiles.yml reads JIGSAW_DB_* when dbt starts, macros/slices.sql reads JIGSAW_SLICE
    with database.subprocess_env(), slice_env(delivery_slice):
        invocation = dbt.cli(["build", *dbt_vars_arguments()], context=context)
    for event in invocation.stream():
        if isinstance(event, dg.Output | dg.AssetMaterialization):
            event = event.with_metadata({**event.metadata, TAG_SLICE: built})
        yield event


defs = dg.Definitions(
    assets=[jigsaw_dbt_models],
    resources={
        "dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable()),
        "database": DATABASE,
    },
)
