"""The one database setting: URL parsing, masking, the libpq variables, and the embedded
fallback (a real pgserver started in a state folder of the test's own)."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from jigsaw import database


def test_url_round_trip_tcp():
    url = "postgresql://alice:s%40cret@db.internal:6543/jigsaw"
    parts = database.parse_url(url)
    assert (parts.host, parts.port, parts.user, parts.password, parts.dbname) == (
        "db.internal",
        6543,
        "alice",
        "s@cret",
        "jigsaw",
    )
    assert database.parse_url(parts.url()) == parts


def test_url_round_trip_socket_directory():
    url = "postgresql://postgres@:5432/jigsaw?host=%2Ftmp%2Fpg%20dir"
    parts = database.parse_url(url)
    assert parts.host == "/tmp/pg dir"
    assert database.parse_url(parts.url()) == parts


def test_describe_masks_password():
    shown = database.describe("postgresql://alice:topsecret@db:5432/jigsaw")
    assert "topsecret" not in shown
    assert "***" in shown


def test_with_database_and_user_keep_the_server():
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    other = database.parse_url(database.with_user(database.with_database(url, "x"), "analyst"))
    assert (other.host, other.port, other.dbname, other.user) == ("127.0.0.1", 5432, "x", "analyst")


def test_explicit_url_wins_and_is_exported(monkeypatch, database_url):
    monkeypatch.setenv("JIGSAW_DATABASE_URL", database_url)
    monkeypatch.setenv("PGHOST", "nowhere.invalid")
    assert database.resolve_database_url() == database_url
    assert database.parse_url(database_url).dbname == __import__("os").environ["JIGSAW_DB_NAME"]


def test_libpq_variables_are_honoured(monkeypatch, server_url):
    parts = database.parse_url(server_url)
    monkeypatch.delenv("JIGSAW_DATABASE_URL", raising=False)
    monkeypatch.setenv("PGHOST", parts.host)
    monkeypatch.setenv("PGPORT", str(parts.port))
    monkeypatch.setenv("PGUSER", parts.user)
    monkeypatch.setenv("PGDATABASE", "jigsaw_pgvars_probe")
    try:
        url = database.resolve_database_url()
        assert database.parse_url(url).dbname == "jigsaw_pgvars_probe"
        with database.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone()[0] == "jigsaw_pgvars_probe"
    finally:
        database.drop_database(database.with_database(server_url, "jigsaw_pgvars_probe"))


def _in_a_process_of_its_own(code: str) -> str:
    """What ``code`` prints, run as a command of its own would (pgserver counts the processes
    holding a server, and stops it only when the last one that asks is the only one left)."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=os.environ, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_with_no_setting_the_project_starts_its_own_embedded_server(tmp_path, monkeypatch):
    """The embedded fallback: with neither JIGSAW_DATABASE_URL nor PG* variables, the URL is
    the project's own PostgreSQL (pgserver), its data in the state folder, reached over its
    socket, database ``jigsaw``; it outlives the command that started it (so dbt, Soda and the
    UI reach it), and ``stop_embedded_server`` (make clean) stops it."""
    for name in ("JIGSAW_DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIGSAW_STATE_DIR", str(tmp_path))
    pgdata = tmp_path / "pgdata"
    try:
        url = _in_a_process_of_its_own("from jigsaw.database import database_url as u; print(u())")
        parts = database.parse_url(url)
        assert parts.host.startswith("/"), "a socket directory, not a TCP host"
        assert parts.dbname == database.DEFAULT_DATABASE
        with psycopg.connect(database.with_database(url, "postgres")) as conn:
            served_from = conn.execute("show data_directory").fetchone()[0]
        assert Path(served_from).resolve() == pgdata.resolve()
    finally:
        stopped = _in_a_process_of_its_own(
            "from jigsaw.database import stop_embedded_server as s; print(s())"
        )
    assert stopped == "True"
    assert not (pgdata / "postmaster.pid").exists()
