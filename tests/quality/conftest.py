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


def _delivery_keys(conn: psycopg.Connection, table: str, rows: list[dict]) -> list[dict]:
    """The rows as the loader stores them: a row's ``_delivery_id`` becomes the key of that
    delivery in the ledger (recorded there as loaded, the first time)."""
    keys: dict[str, int] = {}
    stored = []
    for row in rows:
        row = dict(row)
        delivery_id = row.pop("_delivery_id", None)
        sha = row.pop("_file_sha256", "0" * 64)
        if delivery_id is not None:
            if delivery_id not in keys:
                body, date, file_name = delivery_id.split("/")
                keys[delivery_id] = conn.execute(
                    "insert into ingestion.deliveries (delivery_id, body, entity, period,"
                    " delivery_date, file_name, file_sha256, bytes, status, finished_at)"
                    " values (%s, %s, %s, %s, %s, %s, %s, 0, 'loaded', now())"
                    " on conflict (delivery_id) do update set body = excluded.body"
                    " returning delivery_key",
                    (delivery_id, body, table.split(".")[1], row["_period"], date, file_name, sha),
                ).fetchone()[0]
            row["_delivery_key"] = keys[delivery_id]
        stored.append(row)
    return stored


def insert_rows(conn: psycopg.Connection, table: str, rows: list[dict]) -> None:
    rows = _delivery_keys(conn, table, rows)
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
