"""A command that needs a server only while it runs (``make lint``) stops the embedded PostgreSQL
it started, and leaves one it found running (``make demo``'s) alone. Real embedded servers
(pgserver), each in a state folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from jigsaw import database
from jigsaw.paths import REPO_ROOT

SERVER_SETTINGS = ("JIGSAW_DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE")


@pytest.fixture()
def no_server_configured(tmp_path, monkeypatch):
    """No database setting, and a state folder of the test's own for the embedded server."""
    monkeypatch.setenv("JIGSAW_STATE_DIR", str(tmp_path / "state"))
    for name in SERVER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return {**os.environ}


def _cli(environment: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=environment,
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )


def test_the_server_a_block_started_is_stopped_after_it(no_server_configured):
    assert not database.embedded_server_running()
    with database.embedded_server_stopped_after():
        url = database.database_url()  # what the lint's resolution does: the embedded server
        with psycopg.connect(database.with_database(url, "postgres")) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        assert database.embedded_server_running()
    assert not database.embedded_server_running()


def test_a_server_already_running_is_left_running(no_server_configured):
    _cli(no_server_configured, "database")  # starts the embedded server and leaves it up
    try:
        assert database.embedded_server_running()
        with database.embedded_server_stopped_after():
            pass
        assert database.embedded_server_running()
    finally:
        _cli(no_server_configured, "stop-database")
    assert not database.embedded_server_running()
