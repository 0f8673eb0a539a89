"""Fixtures for ingestion tests: an empty database per test and a landing folder in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from ingestion.spec import SourceSpec, load_specs


@pytest.fixture()
def db_url(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database of its own, with the documented demo key in force."""
    monkeypatch.setenv(KEY_VARIABLE, DEMO_KEY)
    monkeypatch.setenv("JIGSAW_DATABASE_URL", fresh_database_url)
    return fresh_database_url


@pytest.fixture()
def db(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def specs() -> list[SourceSpec]:
    return load_specs()
