"""One ``dbt build`` of the whole project on the small handcrafted region, shared by the tests
that only read it; a module that changes the region takes one of its own (``own_region``), so
the modules pass in any order."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from jigsaw import database
from jigsaw.database import connection_env
from jigsaw.paths import dbt_project_dir
from orchestration.factories.dbt_assets import dbt_executable
from quality.dbt_vars import dbt_vars_arguments
from tests.dbt.region import load_small_region

# A module's own rows, added to the small region before it is built.
AlsoLoad = Callable[[psycopg.Connection], None]


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


def run_dbt(url: str, target: Path, *args: str, env: dict[str, str] | None = None) -> DbtRun:
    """dbt against the region database ``url``, named explicitly: an earlier test that
    resolved another database may have left its JIGSAW_DB_* fields in the environment.
    ``env``: the run's own variables (a delivery's slice)."""
    project = dbt_project_dir()
    command = [dbt_executable(), *args, "--project-dir", str(project)]
    command += ["--profiles-dir", str(project), "--target-path", str(target)]
    if "--vars" not in args:  # a run's own vars (a delivery's slice) include the project's
        command += dbt_vars_arguments()
    env = {**os.environ, **connection_env(url), "DO_NOT_TRACK": "1", **(env or {})}
    completed = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    return DbtRun(completed.returncode, completed.stdout + completed.stderr, target)


def build_region(url: str, target: Path, also_load: AlsoLoad | None = None) -> DbtRun:
    """The small region loaded into ``url`` (with ``also_load``'s rows) and the whole project
    built on it."""
    with psycopg.connect(url) as conn:
        load_small_region(conn)
        if also_load is not None:
            also_load(conn)
    run = run_dbt(url, target, "build", "--full-refresh")
    assert run.returncode == 0, run.output[-6000:]
    return run


@dataclass
class Region:
    url: str
    build: DbtRun


@pytest.fixture(scope="session")
def shared_region(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Region:
    """The session's region: only for modules that leave it as they found it."""
    return Region(database_url, build_region(database_url, tmp_path_factory.mktemp("dbt_target")))


def own_region(
    server_url: str, tmp_path_factory: pytest.TempPathFactory, also_load: AlsoLoad | None = None
) -> Iterator[Region]:
    """A region in a database of the module's own, which every tool the module runs (dbt,
    Dagster, the retention job) resolves while the module runs; dropped afterwards."""
    url = database.with_database(server_url, f"jigsaw_test_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    try:
        with pytest.MonkeyPatch.context() as env:
            for name, value in database.connection_env(url).items():
                env.setenv(name, value)
            env.setenv(KEY_VARIABLE, DEMO_KEY)  # as the session's database has it
            target = tmp_path_factory.mktemp("own_dbt_target")
            yield Region(url, build_region(url, target, also_load))
    finally:
        database.drop_database(url)


@pytest.fixture(scope="module")
def dbt_region(shared_region: Region) -> Region:
    """The region a module's tests see; a module that changes it overrides this fixture with
    ``own_region`` (``dbt_region = own_region_fixture()``)."""
    return shared_region


def own_region_fixture(also_load: AlsoLoad | None = None):
    """``dbt_region = own_region_fixture()`` at a module's top: its tests get a region of their
    own (``own_region``), with ``also_load``'s rows added to the small region before it is
    built."""

    @pytest.fixture(scope="module")
    def dbt_region(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Region]:
        yield from own_region(server_url, tmp_path_factory, also_load)

    return dbt_region


@pytest.fixture(scope="module")
def region_database(dbt_region: Region) -> str:
    return dbt_region.url


@pytest.fixture(scope="module")
def dbt_build(dbt_region: Region) -> DbtRun:
    return dbt_region.build


@pytest.fixture()
def db(dbt_build: DbtRun, region_database: str):
    with psycopg.connect(region_database) as conn:
        yield conn
