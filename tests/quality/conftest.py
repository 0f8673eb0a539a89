"""Helpers for the quality tests: raw tables filled with small, hand-made deliveries."""

from __future__ import annotations

import psycopg
import pytest

from ingestion.raw_tables import create_ingestion_tables
from ingestion.spec import load_specs
from jigsaw import database


def police_rows(period: str, count: int, start: int = 0) -> list[dict]:
    """Good incident rows for one delivery period."""
    return [
        {
            "_delivery_id": f"police/{period}-28/incidents_{period}.csv",
            "_period": period,
            "_file_sha256": "0" * 64,
            "_source_row_number": i + 1,
            "incident_no": f"INC{start + i:05d}",
            "nominal_id_token": f"tok{start + i}",
            "dob_year": 1980,
            "sex": "F",
            "incident_at": f"{period}-03 10:00",
            "incident_type": "theft",
            "involvement": "victim",
            "risk_grade": "standard",
        }
        for i in range(count)
    ]


def insert_rows(conn: psycopg.Connection, table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    placeholders = ", ".join(["%s"] * len(columns))
    with conn.cursor() as cursor:
        cursor.executemany(
            f"insert into {table} ({', '.join(columns)}) values ({placeholders})",
            [tuple(r[c] for c in columns) for r in rows],
        )


@pytest.fixture()
def use_database(monkeypatch: pytest.MonkeyPatch):
    """Point the code under test (which resolves the database from the environment) at a URL,
    restoring the session's settings afterwards."""

    def use(url: str) -> str:
        parts = database.parse_url(url)
        for name, value in {
            "JIGSAW_DATABASE_URL": url,
            "JIGSAW_DB_HOST": parts.host,
            "JIGSAW_DB_PORT": str(parts.port),
            "JIGSAW_DB_USER": parts.user,
            "JIGSAW_DB_PASSWORD": parts.password,
            "JIGSAW_DB_NAME": parts.dbname,
        }.items():
            monkeypatch.setenv(name, value)
        return url

    return use


@pytest.fixture()
def raw_database_url(fresh_database_url: str) -> str:
    """A database of its own with every raw table created empty."""
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        create_ingestion_tables(conn, load_specs())
    return fresh_database_url
