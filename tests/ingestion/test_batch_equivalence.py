"""The batch loader (CSV in columns, ``ingestion.batches``) against the row-by-row loader.

The same deliveries - a small demo region, the bad delivery corpus and a file of awkward rows -
are loaded once row by row and once in batches, each into its own database; the raw tables,
identity rows, quarantine and ledger must be the same multisets of rows (``EXCEPT ALL`` both
ways, with only the load times set aside). Loaded also with tiny blocks, so that a file is
split in many batches, some by Arrow and some by the row path's splitter, and a quoted record
runs across a block's end.
"""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ingestion import array_signing, batches
from ingestion.demo_region.config import RegionConfig
from ingestion.demo_region.generate import generate_region
from ingestion.folder_load import prepare_database
from ingestion.landing import find_deliveries
from ingestion.loader import DeliveryRejected, load_delivery
from ingestion.pseudonymise import Pseudonymiser
from ingestion.raw_tables import LINEAGE_COLUMNS, raw_columns
from ingestion.spec import SourceSpec
from jigsaw import database
from tests.ingestion import corpus
from tests.ingestion import deliveries as d

REGION = RegionConfig(residents=400, months=3, seed=5, sensor_share=0.01)
# Time columns set by now(): the only columns allowed to differ; and the ledger's delivery key,
# a number given in load order (raw rows are compared through their lineage views, which show
# the delivery id, file hash and period it stands for).
LOAD_TIMES = {"_loaded_at", "quarantined_at", "started_at", "finished_at", "next_attempt_at"}
LOAD_ORDER = {"delivery_key"}


def awkward_rows() -> bytes:
    """Police rows that test every way the two splitters could read a line differently."""
    rows = [d.police_row(i) for i in range(1, 400)]
    rows[10] = d.police_row(11, SURNAME="  ")  # blank dropped value
    rows[11] = d.police_row(12, INCIDENT_NO=" \x1c ")  # blank to Python, not to a naive trim
    rows[12] = d.police_row(13, NOMINAL_ID="")  # empty where the spec forbids it
    rows[13] = d.police_row(14, DOB="31-02-1980")  # no such date
    rows[14] = d.police_row(15, DOB="\u0661\u0662-02-1980")  # Arabic-Indic digits
    rows[15] = d.police_row(16, RISK="  high  ")  # clear text kept as sent
    rows[16] = d.police_row(17, INCIDENT_DATETIME="yesterday")
    rows[17] = d.police_row(18, SEX="")
    # COPY's text format would read these otherwise: its escape character, its null marker,
    # its delimiter (unquoted in CSV), and a quote doubled inside a quoted value.
    rows[40] = d.police_row(41, RISK="C:\\temp\\new", SURNAME="O\\Brien")
    rows[41] = d.police_row(42, RISK="\\N")
    rows[60] = d.police_row(61, RISK="high\tmedium", FORENAME="Ann\tMarie")
    rows[80] = d.police_row(81, RISK='very "high"')
    rows[200] = d.police_row(201, ADDRESS='Flat 2, "The Mill"\nMill Lane')  # quoted newline
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(d.POLICE_HEADER)
    writer.writerows(rows[:300])
    text = buffer.getvalue().encode()
    text += b"INC9,NOM9,TOO,FEW\n"  # wrong number of fields
    text += b"\n"  # a blank line is not a row
    text += b"INC8,NOM8,A,B,01-02-1980,M,x,y,03/01/2026 10:15,theft,victim,\xe9\n"  # not UTF-8
    text += b"\x00\n"  # NUL on a line of its own: the next row carries the note
    text += "\ufeffINC6,NOM6,A,B,01-02-1980,M,x,y,03/01/2026 10:15,theft,victim,high\n".encode()
    text += b"INC7,NOM7,A,B,01-02-1980,M,x\ry,z,03/01/2026 10:15,theft,victim,high\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows[300:])  # Windows line ends
    return text + buffer.getvalue().encode()


def land_everything(landing: Path) -> None:
    generate_region(REGION, landing, landing.parent / "truth")
    corpus.write_corpus(landing)
    awkward = d.folder(landing, "police", "2031-06-01") / "incidents_2031-05.csv"
    awkward.write_bytes(awkward_rows())


def load_all(url: str, landing: Path, specs: list[SourceSpec], row_by_row: bool) -> None:
    by_body = {s.body: s for s in specs}
    with psycopg.connect(url, autocommit=True) as conn:
        prepare_database(conn, specs)
        for delivery in find_deliveries(landing, specs):
            # A rejected file is recorded in the ledger, compared there.
            with contextlib.suppress(DeliveryRejected):
                load_delivery(
                    conn, by_body[delivery.body], delivery, Pseudonymiser(), row_by_row=row_by_row
                )


def tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where (table_schema like 'raw\\_%' or table_schema in ('identity', 'ingestion'))"
        " and table_type = 'BASE TABLE' order by 1, 2"
    ).fetchall()


def copy_into(source_url: str, target: psycopg.Connection, schema: str, table: str) -> None:
    """The row path's table, copied into the batch path's database as compare.<schema>__<table>."""
    copy_name = sql.Identifier("compare", f"{schema}__{table}")
    target.execute(
        sql.SQL("create table {} (like {})").format(copy_name, sql.Identifier(schema, table))
    )
    out_statement = sql.SQL("copy (select * from {}) to stdout").format(
        sql.Identifier(schema, table)
    )
    in_statement = sql.SQL("copy {} from stdin").format(copy_name)
    with (
        psycopg.connect(source_url) as source,
        source.cursor().copy(out_statement) as out,
        target.cursor().copy(in_statement) as into,
    ):
        for chunk in out:
            into.write(chunk)


def differences(conn: psycopg.Connection, schema: str, table: str) -> tuple[int, int, int]:
    """(rows, rows only in the row path's table, rows only in the batch path's table)."""
    columns = [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, table),
        )
        if r[0] not in LOAD_TIMES | LOAD_ORDER
    ]
    listed = sql.SQL(", ").join(map(sql.Identifier, columns))
    ours, theirs = sql.Identifier(schema, table), sql.Identifier("compare", f"{schema}__{table}")
    query = "select count(*) from (select {c} from {a} except all select {c} from {b}) as d"

    def count(a: sql.Composable, b: sql.Composable) -> int:
        return conn.execute(sql.SQL(query).format(c=listed, a=a, b=b)).fetchone()[0]

    rows = conn.execute(sql.SQL("select count(*) from {}").format(ours)).fetchone()[0]
    return rows, count(theirs, ours), count(ours, theirs)


@pytest.fixture()
def other_database(server_url: str):
    url = database.with_database(server_url, f"jigsaw_test_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    try:
        yield url
    finally:
        database.drop_database(url)


@pytest.mark.parametrize(
    ("block_bytes", "compiled_signing"),
    [(batches.BLOCK_BYTES, True), (2048, True), (2048, False)],
    ids=["blocks", "tiny-blocks", "tiny-blocks-signing-process"],
)
def test_batch_loader_stores_what_the_row_loader_stores(
    db, db_url, other_database, landing, specs, monkeypatch, block_bytes, compiled_signing
):
    monkeypatch.setattr(batches, "BLOCK_BYTES", block_bytes)
    if not compiled_signing:  # as where the HMAC loop is not built: a signing process signs
        monkeypatch.setattr(array_signing, "_hmac_tokens", None)
    land_everything(landing)
    load_all(other_database, landing, specs, row_by_row=True)
    load_all(db_url, landing, specs, row_by_row=False)

    db.execute("create schema compare")
    compared = {}
    for schema, table in tables(db):
        # A raw table through its lineage view: its rows with the delivery they came in.
        shown = f"{table}__lineage" if schema.startswith("raw_") else table
        copy_into(other_database, db, schema, shown)
        compared[f"{schema}.{table}"] = differences(db, schema, shown)
    assert {name: diff[1:] for name, diff in compared.items()} == {
        name: (0, 0) for name in compared
    }
    # The comparison saw real rows: every kind of table, quarantine from both splitters.
    assert compared["raw_police.incidents"][0] > 300
    assert compared["identity.person_records"][0] > 500
    assert compared["raw_home_sensors.sensor_readings"][0] > 1000
    assert compared["ingestion.quarantine"][0] >= 20
    reasons = {
        r[0]
        for r in db.execute(
            "select reason from ingestion.quarantine where delivery_id like %s",
            ("police/2031-06-01/%",),
        )
    }
    assert {
        "empty value in a column that must not be empty",
        "'31-02-1980' is not a date in format '%d-%m-%Y'",
        "expected 12 fields, found 4",
        "contains a NUL character",
    } <= reasons
    assert any(reason.startswith("bytes not valid utf-8") for reason in reasons)
    assert any(reason.startswith("malformed CSV") for reason in reasons)


def test_tiny_blocks_are_split_by_both_splitters_and_lose_no_row(tmp_path, specs):
    path = tmp_path / "incidents_2031-05.csv"
    path.write_bytes(awkward_rows())
    entity = next(s for s in specs if s.body == "police").entities_by_name["incidents"]
    found = list(batches.csv_batches(path, entity, block_bytes=2048))
    assert {b.split_by for b in found} == {"arrow", "python"}
    numbers = [
        n for b in found for n in [*b.row_numbers.tolist(), *(p.row_number for p in b.problems)]
    ]
    # 399 rows and 4 awkward ones; the blank line and the line of a NUL alone are no rows
    assert sorted(numbers) == list(range(1, 404))
    # Blocks of plain values go to COPY in its text format, the others in CSV.
    head = ("police", "incidents", "police/2031-06-01/incidents_2031-05.csv", "2031-05")
    builder = batches.BatchBuilder("police", entity, Pseudonymiser(b"k"), (1, "2031-05"), head)
    built = [builder.build(batch) for batch in found]
    assert {b.raw.format for b in built} == {"text", "csv"}
    assert {b.identity.format for b in built if b.identity} == {"text", "csv"}
    for batch, rows in zip(found, built, strict=True):
        if rows.raw.format == "text":  # one line a row, no tab but between values
            width = len(LINEAGE_COLUMNS) + len(raw_columns(entity))
            assert batch.no_backslash and rows.raw.data.count(b"\n") == rows.loaded
            assert rows.raw.data.count(b"\t") == rows.loaded * (width - 1)
