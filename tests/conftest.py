"""Shared fixtures: a throwaway database on a real PostgreSQL server for each test session.

The server is JIGSAW_DATABASE_URL's, else the local one at 127.0.0.1:5432, else the project's
embedded PostgreSQL. The database is created at session start and dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from jigsaw import database

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")


@pytest.fixture(scope="session")
def server_url() -> str:
    return database.test_server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this test session; JIGSAW_DATABASE_URL points at it meanwhile."""
    name = f"jigsaw_test_{uuid.uuid4().hex[:10]}"
    url = database.with_database(server_url, name)
    database.ensure_database(url)
    saved = {k: os.environ.get(k) for k in ("JIGSAW_DATABASE_URL", KEY_VARIABLE)}
    database.export_connection_env(url)
    os.environ[KEY_VARIABLE] = DEMO_KEY
    try:
        yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        database.drop_database(url)


@pytest.fixture()
def fresh_database_url(server_url: str) -> Iterator[str]:
    """A database of its own for one test, for tests that must start empty."""
    url = database.with_database(server_url, f"jigsaw_test_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    try:
        yield url
    finally:
        database.drop_database(url)


@pytest.fixture()
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url) as connection:
        yield connection
