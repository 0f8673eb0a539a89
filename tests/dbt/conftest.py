"""One ``dbt build`` of the whole project on the small handcrafted region, shared by the tests."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from jigsaw.database import connection_env
from jigsaw.paths import dbt_project_dir
from orchestration.factories.dbt_assets import dbt_executable
from quality.disclosure import dbt_vars_arguments
from tests.dbt.region import load_small_region


@dataclass
class DbtRun:
    returncode: int
    output: str
    target: Path

    @property
    def manifest(self) -> dict:
        return json.loads((self.target / "manifest.json").read_text())

    @property
    def results(self) -> list[dict]:
        return json.loads((self.target / "run_results.json").read_text())["results"]


_session: dict[str, str] = {}  # the region's database URL, once region_database made it


def run_dbt(target: Path, *args: str) -> DbtRun:
    """dbt against the session's region database, named explicitly: an earlier test that
    resolved another database may have left its JIGSAW_DB_* fields in the environment."""
    project = dbt_project_dir()
    command = [dbt_executable(), *args, "--project-dir", str(project)]
    command += ["--profiles-dir", str(project), "--target-path", str(target)]
    command += dbt_vars_arguments()
    env = {**os.environ, **connection_env(_session["url"]), "DO_NOT_TRACK": "1"}
    completed = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    return DbtRun(completed.returncode, completed.stdout + completed.stderr, target)


@pytest.fixture(scope="session")
def region_database(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        load_small_region(conn)
    _session["url"] = database_url
    return database_url


@pytest.fixture(scope="session")
def dbt_build(region_database: str, tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    run = run_dbt(tmp_path_factory.mktemp("dbt_target"), "build", "--full-refresh")
    assert run.returncode == 0, run.output[-6000:]
    return run


@pytest.fixture()
def db(dbt_build: DbtRun, region_database: str):
    with psycopg.connect(region_database) as conn:
        yield conn
