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
    """``dbt build`` of the selected models: runs them, their unit tests and their data tests."""
    with database.subprocess_env():  # profiles.yml reads JIGSAW_DB_* when dbt starts
        invocation = dbt.cli(["build", *dbt_vars_arguments()], context=context)
    yield from invocation.stream()


defs = dg.Definitions(
    assets=[jigsaw_dbt_models],
    resources={
        "dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable()),
        "database": DATABASE,
    },
)
