"""Load one delivered file into raw_<body>.<entity> with COPY, in one transaction.

Nothing is lost: every delivered row ends in raw or in ingestion.quarantine (with its original
line, the column and the reason), and the ledger records rows delivered, loaded and
quarantined. A file that cannot be read as its spec says is rejected whole: its transaction is
rolled back, the rejection is recorded in the ledger on its own, and ``DeliveryRejected``
names the file and the cause.

Idempotent: a delivery already in the ledger is not loaded again, the same bytes under another
name are recorded as a duplicate, and a corrected re-delivery for a period replaces the older
one's rows in the same transaction, unless it is itself older than what is loaded. A delivery
for a period whose rows were deleted at the end of retention (``ingestion.retention``) is
recorded as expired and not loaded.
"""

from __future__ import annotations

import csv
import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import IO

from psycopg import Connection, sql
from psycopg.copy import Copy, FileWriter

from ingestion import ledger
from ingestion.landing import Delivery, file_sha256
from ingestion.pseudonymise import Pseudonymiser
from ingestion.raw_tables import LINEAGE_COLUMNS, raw_columns
from ingestion.readers import FileRejected, read_records
from ingestion.spec import Entity, SourceSpec
from ingestion.transform import IDENTITY_COLUMNS, RowBuilder, RowProblem

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = (
    "delivery_id",
    "body",
    "entity",
    "file_sha256",
    "source_row_number",
    "column_name",
    "reason",
    "original_line",
)
# Lineage written by the loader; _loaded_at takes its default, now(), the transaction's time.
_LINEAGE_WRITTEN = [name for name, _ in LINEAGE_COLUMNS if name != "_loaded_at"]


def _spool() -> IO[str]:
    """A temporary file for the quarantined rows, COPY'd after raw."""
    return tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")


@dataclass(frozen=True)
class LoadResult:
    """What became of one delivery. ``status`` is the ledger status, or ``already_recorded``."""

    delivery_id: str
    body: str
    entity: str
    period: str
    status: str
    file_sha256: str
    bytes: int
    rows_delivered: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    replaced: str | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class DeliveryRejected(Exception):
    """A file rejected whole; the message names the file and the cause."""

    def __init__(self, result: LoadResult, path: str) -> None:
        super().__init__(f"{path}: rejected: {result.error}")
        self.result = result


def _copy_spool(
    conn: Connection, table: sql.Composable, columns: tuple[str, ...], spool: IO, options: str
) -> None:
    spool.seek(0)
    statement = sql.SQL("copy {} ({}) from stdin {}").format(
        table, sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(options)
    )
    with conn.cursor().copy(statement) as copy:
        while chunk := spool.read(1 << 20):
            copy.write(chunk)


def _clean(text: str) -> str:
    # The line without its terminator; PostgreSQL text cannot hold NUL, all else is kept.
    return text.rstrip("\r\n").replace("\x00", "\ufffd")


def _load_rows(
    conn: Connection,
    spec: SourceSpec,
    entity: Entity,
    delivery: Delivery,
    sha256: str,
    pseudonymiser: Pseudonymiser,
) -> tuple[int, int, int]:
    """COPY the file's good rows into raw (and identity); quarantine the rest.

    Returns (rows delivered, rows loaded, rows quarantined). Raises ``FileRejected``.
    """
    delivery_id, period = delivery.delivery_id, delivery.period
    lineage = (delivery_id, period, sha256)
    identity_head = (spec.body, entity.name, delivery_id, period)
    build = RowBuilder(spec.body, entity, pseudonymiser, lineage, identity_head).build
    columns = _LINEAGE_WRITTEN + [name for name, _ in raw_columns(entity)]
    statement = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier(spec.raw_schema),
        sql.Identifier(entity.name),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
    )
    delivered = loaded = quarantined = 0
    with tempfile.TemporaryFile() as identity_spool, _spool() as quarantine_spool:
        quarantine_rows = csv.writer(quarantine_spool)
        with (
            # Identity rows in COPY's text format, made by psycopg's own row formatter (C):
            # a third of the cost of csv.writer for the same rows.
            Copy(conn.cursor(), writer=FileWriter(identity_spool)) as identity_copy,
            # Not QueuedLibpqWriter: measured, its writer thread cost 1.5 s more CPU per
            # million rows and saved no time (the server keeps up with this client).
            conn.cursor().copy(statement) as copy,
        ):
            write_identity = identity_copy.write_row
            write_row = copy.write_row
            for row_number, values, original, problem in read_records(delivery.path, entity):
                delivered += 1
                if problem is None:
                    try:
                        raw, identity = build(values, row_number)
                    except RowProblem as exc:
                        problem = (exc.column, exc.reason)
                    else:
                        write_row(raw)
                        loaded += 1
                        if identity is not None:
                            write_identity(identity)
                        continue
                quarantined += 1
                quarantine_rows.writerow(
                    (delivery_id, spec.body, entity.name, sha256, row_number, problem[0],
                     problem[1], _clean(original))
                )  # fmt: skip
        _copy_spool(conn, sql.SQL("identity.person_records"), IDENTITY_COLUMNS, identity_spool, "")
        _copy_spool(
            conn,
            sql.SQL("ingestion.quarantine"),
            QUARANTINE_COLUMNS,
            quarantine_spool,
            "(format csv)",
        )
    return delivered, loaded, quarantined


def delete_period_rows(
    conn: Connection, spec: SourceSpec, entity: Entity, period: str, delivery_ids: list[str]
) -> tuple[int, int]:
    """Remove a period's rows: by period in raw (its index), by delivery id in identity (both
    BRIN-indexed); only one delivery per period is ever current. Returns (raw, identity) rows."""
    raw = conn.execute(
        sql.SQL("delete from {}.{} where _period = %s").format(
            sql.Identifier(spec.raw_schema), sql.Identifier(entity.name)
        ),
        (period,),
    ).rowcount
    identity = conn.execute(
        "delete from identity.person_records"
        " where body = %s and entity = %s and _delivery_id = any(%s)",
        (spec.body, entity.name, delivery_ids),
    ).rowcount
    return raw, identity


def load_delivery(
    conn: Connection, spec: SourceSpec, delivery: Delivery, pseudonymiser: Pseudonymiser
) -> LoadResult:
    """Load one delivery (see the module docstring); raises ``DeliveryRejected``.

    ``conn`` must not be inside a transaction: this function commits what it does.
    """
    started = time.perf_counter()
    entity = spec.entities_by_name[delivery.entity]
    sha256 = file_sha256(delivery.path)
    size = delivery.path.stat().st_size
    base = {
        "delivery_id": delivery.delivery_id,
        "body": delivery.body,
        "entity": delivery.entity,
        "period": delivery.period,
        "file_sha256": sha256,
        "bytes": size,
    }

    def result(status: str, **fields) -> LoadResult:
        return LoadResult(status=status, seconds=time.perf_counter() - started, **base, **fields)

    try:
        with conn.transaction():
            # One loader at a time per (entity, period), so replacement decisions are sound.
            ledger.lock_period(conn, delivery.body, delivery.entity, delivery.period)
            known = ledger.entry(conn, delivery.delivery_id)
            if known is not None:
                if known.file_sha256 != sha256:
                    log.warning(
                        "%s: the landed file changed after it was recorded (%s); not reloaded",
                        delivery.path,
                        known.status,
                    )
                return result("already_recorded", error=known.status)
            earlier = ledger.first_with_sha(conn, delivery, sha256)
            if earlier is not None:
                note = f"same bytes as {earlier.delivery_id}"
                ledger.record(conn, delivery, sha256, size, "duplicate", error=note)
                return result("duplicate", error=note)
            past_retention = ledger.expired(conn, delivery.body, delivery.entity, delivery.period)
            if past_retention is not None:
                note = f"period past retention ({past_retention.delivery_id} expired); not loaded"
                ledger.record(conn, delivery, sha256, size, "expired", error=note)
                return result("expired", error=note)
            loaded_now = ledger.current(conn, delivery.body, delivery.entity, delivery.period)
            if loaded_now is not None and loaded_now.delivery_date > delivery.delivery_date:
                note = f"older than {loaded_now.delivery_id}, which stays loaded"
                ledger.record(conn, delivery, sha256, size, "superseded", error=note)
                return result("superseded", error=note)
            if loaded_now is not None:
                delete_period_rows(conn, spec, entity, delivery.period, [loaded_now.delivery_id])
                ledger.mark_superseded(conn, loaded_now.delivery_id, delivery.delivery_id)
            counts = _load_rows(conn, spec, entity, delivery, sha256, pseudonymiser)
            ledger.record(conn, delivery, sha256, size, "loaded", rows=counts)
            delivered, loaded, quarantined = counts
            return result(
                "loaded",
                rows_delivered=delivered,
                rows_loaded=loaded,
                rows_quarantined=quarantined,
                replaced=loaded_now.delivery_id if loaded_now else None,
            )
    except FileRejected as exc:
        with conn.transaction():
            ledger.record(conn, delivery, sha256, size, "rejected", error=exc.reason)
        rejected = result("rejected", error=exc.reason)
        raise DeliveryRejected(rejected, str(delivery.path)) from exc
