"""dbt models as Dagster assets (staging, intermediate, core, marts), dbt tests as asset checks.

Upstream: the ingestion assets ``["raw_<body>", "<entity>"]`` and the linkage assets
``["linkage", "person_xref" | "address_xref"]`` (dbt sources). Downstream: Python assets that
depend on a model's key, e.g. ``dg.AssetKey("early_intervention_features")``.
"""

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from jigsaw.database import resolve_database_url
from orchestration.factories.dbt_assets import (
    JigsawDbtTranslator,
    dbt_executable,
    ensure_manifest,
    jigsaw_dbt_project,
)
from quality.disclosure import dbt_vars_arguments

project = jigsaw_dbt_project()
manifest_path = ensure_manifest(project)


@dbt_assets(
    manifest=manifest_path,
    project=project,
    dagster_dbt_translator=JigsawDbtTranslator(),
    name="jigsaw_dbt",
)
def jigsaw_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the selected models: runs them, their unit tests and their data tests."""
    resolve_database_url()  # exports JIGSAW_DB_* for profiles.yml before dbt starts
    yield from dbt.cli(["build", *dbt_vars_arguments()], context=context).stream()


defs = dg.Definitions(
    assets=[jigsaw_dbt_models],
    resources={"dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable())},
)
