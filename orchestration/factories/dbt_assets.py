"""dbt in Dagster: the project, the manifest it is built from, and the asset-key translator.

Every dbt model is a Dagster asset keyed by its model name (``["dim_person"]``); dbt sources are
the ingestion and linkage assets (``["raw_police", "incidents"]``, ``["linkage", "person_xref"]``)
so lineage runs from the loaded files through staging, core and marts to the Python assets that
read them; dbt data tests become asset checks.

The manifest is made by ``dbt parse`` (no database needed) whenever it is missing or older than
the project's files, so definitions load on a fresh clone with no ``target/`` committed.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from jigsaw.paths import dbt_project_dir
from quality.dbt_vars import dbt_vars_arguments

# profiles.yml reads these; parsing renders the profile but never connects, so placeholders do.
PARSE_PLACEHOLDER_ENV = {
    "JIGSAW_DB_HOST": "127.0.0.1",
    "JIGSAW_DB_PORT": "5432",
    "JIGSAW_DB_USER": "postgres",
    "JIGSAW_DB_PASSWORD": "",
    "JIGSAW_DB_NAME": "jigsaw",
}
PROJECT_FILE_GLOBS = ("dbt_project.yml", "profiles.yml", "models/**/*", "macros/**/*", "tests/**/*")
LAYER_GROUPS = {"staging", "intermediate", "core", "marts"}


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def jigsaw_dbt_project(project_dir: Path | None = None) -> DbtProject:
    directory = project_dir or dbt_project_dir()
    return DbtProject(project_dir=directory, profiles_dir=directory)


def _newest_project_file(project_dir: Path) -> float:
    newest = 0.0
    for pattern in PROJECT_FILE_GLOBS:
        for path in project_dir.glob(pattern):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    return manifest.stat().st_mtime < _newest_project_file(project.project_dir)


def ensure_manifest(project: DbtProject) -> Path:
    """``dbt parse`` when the manifest is missing or stale; returns the manifest's path.

    A lock file makes concurrent loaders (UI, daemon, tests) parse once, one at a time.
    """
    if not manifest_is_stale(project):
        return project.manifest_path
    target = project.project_dir / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale(project):
            env = {**PARSE_PLACEHOLDER_ENV, **os.environ, "DO_NOT_TRACK": "1"}
            result = subprocess.run(
                [
                    dbt_executable(),
                    "parse",
                    "--project-dir",
                    str(project.project_dir),
                    "--profiles-dir",
                    str(project.profiles_dir),
                    "--target-path",
                    str(target),
                    "--quiet",
                    *dbt_vars_arguments(),
                ],
                cwd=project.project_dir,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0 or not project.manifest_path.exists():
                raise RuntimeError(
                    f"dbt parse failed for {project.project_dir} "
                    f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
                )
    return project.manifest_path


class JigsawDbtTranslator(DagsterDbtTranslator):
    """Model keys are the model name (not schema-prefixed); sources keep [source, table]."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        if len(fqn) > 1 and fqn[1] in LAYER_GROUPS:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        """The model's ``meta.owner`` (set per folder in dbt_project.yml, per mart in its YAML)."""
        from orchestration.policies import team_owner

        meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        owner = meta.get("owner")
        return [team_owner(str(owner))] if owner else super().get_owners(dbt_resource_props)

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        for field in ("owner", "purpose", "disclosure", "layer"):
            if meta.get(field):
                metadata[f"jigsaw/{field}"] = str(meta[field])
        return metadata
