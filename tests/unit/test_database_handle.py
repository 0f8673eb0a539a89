"""One database handle: resolving the URL only reads; creating the database and exporting it to
the environment happen in one explicit place (``resolve_database_url`` at a process's entry
point), and Dagster code reaches the database through its ``database`` resource alone."""

from __future__ import annotations

import ast
import os
import uuid

import dagster as dg
import psycopg
import pytest

from jigsaw import database
from jigsaw.paths import REPO_ROOT
from orchestration.resources import PostgresResource

FIELDS = [f"JIGSAW_DB_{field}" for field in ("HOST", "PORT", "USER", "PASSWORD", "NAME")]
# The command line (make demo, make ui, ...) is where a process starts: settling the database
# for the processes and runs it launches is its job (materialize_landing, the demo's and tests'
# runner, points its runs at a given database for their duration, then restores the environment).
ENTRY_POINTS = REPO_ROOT / "orchestration" / "cli"


def _exists(server_url: str, name: str) -> bool:
    with psycopg.connect(database.with_database(server_url, "postgres")) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    return found is not None


@pytest.fixture()
def unmade_database(server_url, monkeypatch):
    """JIGSAW_DATABASE_URL naming a database the server does not have yet; dropped after."""
    name = f"jigsaw_test_{uuid.uuid4().hex[:10]}"
    url = database.with_database(server_url, name)
    monkeypatch.setenv("JIGSAW_DATABASE_URL", url)
    for field in FIELDS:
        monkeypatch.delenv(field, raising=False)
    yield name, url
    database.drop_database(url)


def test_resolving_the_url_only_reads(server_url, unmade_database):
    name, url = unmade_database
    before = dict(os.environ)
    assert database.database_url() == url
    assert dict(os.environ) == before
    assert not _exists(server_url, name)


def test_the_entry_points_step_creates_and_exports_the_database(server_url, unmade_database):
    name, url = unmade_database
    assert database.resolve_database_url() == url
    assert _exists(server_url, name)
    assert os.environ["JIGSAW_DB_NAME"] == name


def test_the_resource_resolves_once_makes_nothing_and_leaves_the_environment(
    server_url, unmade_database, database_url, monkeypatch
):
    name, url = unmade_database
    before = dict(os.environ)
    with dg.build_resources({"database": PostgresResource()}) as resources:
        assert resources.database.resolved_url() == url
        assert not _exists(server_url, name)  # creating it is the entry point's start-up step
        # Resolved when the step set the resource up: a later change of the environment does
        # not move a step's connections to another database halfway.
        monkeypatch.setenv("JIGSAW_DATABASE_URL", database_url)
        assert resources.database.resolved_url() == url
        monkeypatch.setenv("JIGSAW_DATABASE_URL", url)
        database.ensure_database(url)
        with resources.database.connect() as conn:
            assert conn.execute("select current_database()").fetchone()[0] == name
        with resources.database.subprocess_env():
            assert os.environ["JIGSAW_DB_NAME"] == name  # for a child process started here
        assert dict(os.environ) == before
    assert dict(os.environ) == before


def test_an_explicit_url_wins_over_the_environment(server_url, database_url, unmade_database):
    explicit = {"database": PostgresResource(url=database_url)}
    with dg.build_resources(explicit) as resources, resources.database.connect() as conn:
        current = conn.execute("select current_database()").fetchone()[0]
    assert current == database.parse_url(database_url).dbname
    assert not _exists(server_url, unmade_database[0])


def test_only_the_resource_resolves_the_database_in_dagster_code():
    """Assets, checks, sensors and ops take the ``database`` resource: no other orchestration
    module imports the resolver (or the one that also creates and exports)."""
    resolvers = {"database_url", "resolve_database_url"}
    importers = []
    for path in sorted((REPO_ROOT / "orchestration").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = {alias.name for alias in getattr(node, "names", [])}
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "jigsaw.database"
                and (resolvers & names)
            ):
                importers.append(str(path.relative_to(REPO_ROOT)))
    assert importers == ["orchestration/resources.py"]


def test_dagster_code_never_exports_the_database_itself():
    """resolve_database_url (create, export) belongs to entry points, not to assets, checks,
    sensors or ops: they run many times per process."""
    calls = []
    for path in sorted((REPO_ROOT / "orchestration").rglob("*.py")):
        if ENTRY_POINTS in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "id", None) or getattr(node, "attr", None)
            if name in {"resolve_database_url", "export_connection_env"}:
                calls.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {name}")
    assert calls == []
