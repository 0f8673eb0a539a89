"""Load one delivered file into raw_<body>.<entity> with COPY, in one transaction.

Nothing is lost: every delivered row ends in raw or in ingestion.quarantine (with its original
line, the column and the reason), and the ledger records rows delivered, loaded and
quarantined. A file that cannot be read as its spec says is rejected whole: its transaction is
rolled back, the rejection is recorded in the ledger on its own, and ``DeliveryRejected``
names the file and the cause.

Any other exception while reading or loading one file (a bug, a value PostgreSQL refuses)
rolls its transaction back too and is recorded as ``failed`` with the exception's class and
the file; the next run tries it again (``ingestion.ledger.MAX_ATTEMPTS``, with backoff).

Idempotent: a delivery already in the ledger is not loaded again, the same bytes under another
name are recorded as a duplicate, and a corrected re-delivery for a period replaces the older
one's rows in the same transaction, unless it is itself older than what is loaded. The same
bytes as a superseded delivery, landed later, reinstate it (the body undoing a bad
correction). A re-delivery that would shrink its period beyond the spec's
``row_count_tolerance`` is not applied but ``held_for_review`` until an operator approves or
discards it (``python -m ingestion deliveries``). A delivery for a period whose rows were
deleted at the end of retention (``ingestion.retention``) is recorded as expired and not loaded.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from typing import IO

import numpy as np
import pyarrow as pa
from psycopg import Connection, sql
from psycopg.copy import Copy, FileWriter

from ingestion import array_signing, ledger
from ingestion import batches as column_batches
from ingestion.batches import (
    COPY_OPTIONS,
    Batch,
    BatchBuilder,
    CopyRows,
    copy_rows,
    csv_batches,
    no_backslash,
)
from ingestion.distinct_records import DistinctRecords
from ingestion.landing import Delivery, file_sha256
from ingestion.pseudonymise import Pseudonymiser
from ingestion.raw_rows import RowBuilder, RowProblem
from ingestion.raw_tables import (
    IDENTITY_COLUMNS,
    IDENTITY_REF_TOKEN,
    IDENTITY_VALUES_START,
    LINEAGE_COLUMNS,
    RECORD_ROW_COUNTS_COLUMNS,
    RECORD_ROW_COUNTS_TABLE,
    RECORD_ROWS_COLUMNS,
    RECORD_ROWS_TABLE,
    raw_columns,
    summarize_new_ranges,
)
from ingestion.readers import FileRejected, read_records
from ingestion.signing import SigningProcess
from ingestion.spec import Entity, SourceSpec

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
# Lineage written by the loader on every raw row: the delivery key and period, then the row
# number (see raw_tables.LINEAGE_COLUMNS).
_LINEAGE_WRITTEN = [name for name, _ in LINEAGE_COLUMNS]


class _QuarantineSpool:
    """A delivery's quarantined rows, spooled to a temporary file and COPY'd after raw; both
    load paths (row by row and in batches) write them the same way."""

    def __init__(self, delivery_id: str, body: str, entity: str, sha256: str) -> None:
        self._head = (delivery_id, body, entity, sha256)
        # Closed by __exit__: the spool lives as long as the load that fills it.
        self._file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        self._rows = csv.writer(self._file)

    def __enter__(self) -> _QuarantineSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def add(self, row_number: int, column: str | None, reason: str, original: str) -> None:
        self._rows.writerow((*self._head, row_number, column, _clean(reason), _clean(original)))

    def copy_into_quarantine(self, conn: Connection) -> None:
        _copy_spool(
            conn, sql.SQL("ingestion.quarantine"), QUARANTINE_COLUMNS, self._file, "(format csv)"
        )


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


# identity's records, named as operators see the COPY in pg_stat_activity (unquoted).
PERSON_RECORDS = sql.SQL("identity.person_records")


def copy_statement(
    table: tuple[str, str] | sql.Composable, columns: Iterable[str], options: str = ""
) -> sql.Composable:
    """COPY of ``columns`` of ``table`` ((schema, name), or its name as SQL) from the client,
    with its ``options``."""
    name = table if isinstance(table, sql.Composable) else sql.Identifier(*table)
    return sql.SQL("copy {} ({}) from stdin {}").format(
        name, sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(options)
    )


def _copy_spool(
    conn: Connection, table: sql.Composable, columns: tuple[str, ...], spool: IO, options: str
) -> None:
    spool.seek(0)
    with conn.cursor().copy(copy_statement(table, columns, options)) as copy:
        while chunk := spool.read(1 << 20):
            copy.write(chunk)


def _clean(text: str) -> str:
    # The line without its terminator; PostgreSQL text cannot hold NUL nor a lone surrogate
    # (shown as its escape), all else is kept.
    text = text.rstrip("\r\n").replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _delivery_arrays(
    identity_head: tuple[str, ...], columns: tuple[str, ...], arrays: tuple
) -> CopyRows:
    """Rows of (body, entity, delivery id, *arrays) for COPY: many rows where people repeat,
    so written by Arrow, not row by row."""
    rows = len(arrays[0])
    head = [pa.repeat(value, rows) for value in identity_head[:3]]
    table = pa.table([*head, *map(pa.array, arrays)], names=list(columns))
    return copy_rows(table, text=no_backslash(identity_head[:3]))


# identity's end-of-delivery rows are written for COPY a part at a time, while the part before
# is sent: all at once, at ten million delivered rows (2.9 million records carried more than
# once), their text and Arrow arrays grew the loader by about 770 MB.
END_ROWS_PART = 1 << 18


@dataclass(frozen=True)
class EndRows:
    """One of identity's end-of-delivery tables: its rows as arrays (the delivery's head, in
    ``head``, goes on every row), written for COPY a part at a time by ``parts``."""

    table: tuple[str, str]
    columns: tuple[str, ...]
    head: tuple[str, ...]
    arrays: tuple[np.ndarray, ...]

    def parts(self) -> Iterator[CopyRows]:
        rows = len(self.arrays[0])
        for start in range(0, rows, END_ROWS_PART):
            part = tuple(array[start : start + END_ROWS_PART] for array in self.arrays)
            yield _delivery_arrays(self.head, self.columns, part)


def identity_end_rows(identity_head: tuple[str, ...], distinct: DistinctRecords) -> list[EndRows]:
    """What is known of the delivery's records only at its end, for each table that has rows:
    the rows of each (their count, and which record each row of an ambiguous reference
    carries). The benchmark's ceiling COPYs the same."""
    distinct.finish()
    ends = [
        EndRows(
            RECORD_ROW_COUNTS_TABLE,
            RECORD_ROW_COUNTS_COLUMNS,
            identity_head,
            distinct.repeated_records(),
        ),
        EndRows(RECORD_ROWS_TABLE, RECORD_ROWS_COLUMNS, identity_head, distinct.ambiguous_rows()),
    ]
    return [end for end in ends if len(end.arrays[0])]


@dataclass(frozen=True)
class EndPart:
    """A part of one of identity's end-of-delivery tables, written for COPY."""

    table: tuple[str, str]
    columns: tuple[str, ...]
    rows: CopyRows

    def copy(self, conn: Connection) -> None:
        statement = copy_statement(self.table, self.columns, COPY_OPTIONS[self.rows.format])
        with conn.cursor().copy(statement) as copy:
            copy.write(self.rows.data)


def end_parts(end_rows: list[EndRows]) -> Iterator[EndPart]:
    """The tables' parts in order, each written for COPY only when it is asked for."""
    for end in end_rows:
        for rows in end.parts():
            yield EndPart(end.table, end.columns, rows)


def _copy_identity_end(conn: Connection, end_rows: list[EndRows]) -> None:
    for part in end_parts(end_rows):
        part.copy(conn)


def _identity_copy(options: str) -> sql.Composable:
    return copy_statement(PERSON_RECORDS, IDENTITY_COLUMNS, options)


def _raw_copy(spec: SourceSpec, entity: Entity, options: str = "") -> sql.Composable:
    columns = _LINEAGE_WRITTEN + [name for name, _ in raw_columns(entity)]
    return copy_statement((spec.raw_schema, entity.name), columns, options)


def _load_rows(
    conn: Connection,
    spec: SourceSpec,
    entity: Entity,
    delivery: Delivery,
    sha256: str,
    pseudonymiser: Pseudonymiser,
    delivery_key: int,
) -> tuple[int, int, int]:
    """COPY the file's good rows into raw (and their distinct person records into identity);
    quarantine the rest.

    Returns (rows delivered, rows loaded, rows quarantined). Raises ``FileRejected``.
    """
    delivery_id, period = delivery.delivery_id, delivery.period
    lineage = (delivery_key, period)
    identity_head = (spec.body, entity.name, delivery_id, period)
    build = RowBuilder(spec.body, entity, pseudonymiser, lineage, identity_head).build
    statement = _raw_copy(spec, entity)
    distinct = DistinctRecords()  # identity keeps the first row of each record
    delivered = loaded = quarantined = 0
    with (
        tempfile.TemporaryFile() as identity_spool,
        _QuarantineSpool(delivery_id, spec.body, entity.name, sha256) as quarantine,
    ):
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
                        if identity is not None and distinct.first_time(
                            identity[IDENTITY_VALUES_START:],
                            identity[IDENTITY_REF_TOKEN],
                            row_number,
                        ):
                            write_identity(identity)
                        continue
                quarantined += 1
                quarantine.add(row_number, problem[0], problem[1], original)
        _copy_spool(conn, PERSON_RECORDS, IDENTITY_COLUMNS, identity_spool, "")
        _copy_identity_end(conn, identity_end_rows(identity_head, distinct))
        quarantine.copy_into_quarantine(conn)
    return delivered, loaded, quarantined


# Batches built ahead of COPY: the producer works on the next while COPY sends this one, and
# memory stays bounded (each batch is a few MB).
_BATCHES_AHEAD = 2
# Files larger than this many batches get a signing process.
SIGNING_PROCESS_BATCHES = 2


class _Done:
    """The producer's last item, after identity's end-of-delivery parts (``EndPart``): those
    are worked out while the main thread COPYs the last batch, and each part written while it
    COPYs the one before, instead of all after it."""


def _produce(
    batches: Generator[Batch], builder: BatchBuilder, out: queue.Queue, stop: threading.Event
) -> None:
    """Builds batches into ``out``; ends with ``_Done`` or the exception that stopped it."""

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        # One batch ahead: its identifiers are signed by the signing process (if any) while
        # this one is built.
        ahead = None
        for batch in batches:
            builder.send_ahead(batch)
            if ahead is not None and not put(builder.build(ahead)):
                return
            ahead = batch
        if ahead is not None and not put(builder.build(ahead)):
            return
        for part in end_parts(identity_end_rows(builder.identity_head, builder.distinct)):
            if not put(part):
                return
        put(_Done())
    except BaseException as exc:  # noqa: BLE001 - handed to the loading thread, raised there
        put(exc)
    finally:
        batches.close()  # the file, now, even when the load stopped half-way


def _load_batches(
    conn: Connection,
    spec: SourceSpec,
    entity: Entity,
    delivery: Delivery,
    sha256: str,
    pseudonymiser: Pseudonymiser,
    delivery_key: int,
) -> tuple[int, int, int]:
    """``_load_rows`` for CSV, in batches of columns (``ingestion.batches``): a thread reads and
    builds the next batches while this one COPYs batch k into raw and identity (Arrow releases
    the GIL for its work, psycopg while it waits on the server). The builder signs a batch's
    identifiers by the compiled HMAC loop; where that is not built, a signing process makes the
    tokens of batch k+1 meanwhile, for a larger file. Raises ``FileRejected``."""
    # A file of a few batches is worth a signing process (``ingestion.signing``); a small one
    # is signed faster than that process starts. With the compiled HMAC loop
    # (``ingestion.array_signing``) the builder signs a batch in a fifth of what the process
    # took, less than sending the values there and back costs.
    big = delivery.path.stat().st_size > SIGNING_PROCESS_BATCHES * column_batches.BLOCK_BYTES
    tokens = any(c.type == "text" and c.privacy == "token" for c in entity.columns)
    separate = big and tokens and not array_signing.available()
    with SigningProcess(pseudonymiser) if separate else contextlib.nullcontext() as signing:
        delivery_id, period = delivery.delivery_id, delivery.period
        builder = BatchBuilder(
            spec.body,
            entity,
            pseudonymiser,
            (delivery_key, period),
            (spec.body, entity.name, delivery_id, period),
            signing,
        )
        built: queue.Queue = queue.Queue(maxsize=_BATCHES_AHEAD)
        stop = threading.Event()
        producer = threading.Thread(
            target=_produce,
            args=(csv_batches(delivery.path, entity), builder, built, stop),
            name=f"build {delivery_id}",
            daemon=True,
        )
        # Each batch's rows come in COPY's text format or in CSV (``batches.CopyRows``).
        copies = {"raw": partial(_raw_copy, spec, entity), "person_records": _identity_copy}
        statements = {
            (table, copy_format): copy(options)
            for table, copy in copies.items()
            for copy_format, options in COPY_OPTIONS.items()
        }
        cursor = conn.cursor()
        delivered = loaded = quarantined = 0
        with _QuarantineSpool(delivery_id, spec.body, entity.name, sha256) as quarantine:
            producer.start()
            try:
                while not isinstance(item := built.get(), _Done):
                    if isinstance(item, BaseException):
                        raise item
                    if isinstance(item, EndPart):
                        item.copy(conn)
                        continue
                    # A COPY of raw and one of identity per batch, not one of each per file: the
                    # server does the identity rows while the next batch is built, instead of
                    # after the last one (one transaction all the same).
                    for table, rows in (("raw", item.raw), ("person_records", item.identity)):
                        if rows is not None:
                            with cursor.copy(statements[table, rows.format]) as copy:
                                copy.write(rows.data)
                    # The raw pages this batch filled are summarised now, while the next batch
                    # is built, not all after the last one (2.6 s at ten million rows).
                    summarize_new_ranges(conn, spec, entity)
                    delivered += item.delivered
                    loaded += item.loaded
                    quarantined += len(item.quarantined)
                    for row_number, column, reason, original in item.quarantined:
                        quarantine.add(row_number, column, reason, original)
            finally:
                stop.set()
                producer.join()
            quarantine.copy_into_quarantine(conn)
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
    for table in (RECORD_ROWS_TABLE, RECORD_ROW_COUNTS_TABLE):
        conn.execute(
            sql.SQL(
                "delete from {} where body = %s and entity = %s and _delivery_id = any(%s)"
            ).format(sql.Identifier(*table)),
            (spec.body, entity.name, delivery_ids),
        )
    return raw, identity


def shrinks_too_far(rows_before: int, rows_after: int, tolerance: float) -> bool:
    """Whether a re-delivery would shrink its period beyond the spec's tolerance: always when it
    would leave no rows where there were some."""
    if rows_before <= 0:
        return False
    return rows_after == 0 or rows_after < rows_before * (1 - tolerance)


class _Held(Exception):
    """Raised inside the load's transaction to roll it back: the delivery waits for review."""

    def __init__(self, counts: tuple[int, int, int], note: str) -> None:
        super().__init__(note)
        self.counts = counts
        self.note = note


def _cause(exc: BaseException, delivery: Delivery) -> str:
    """The ledger's account of an unexpected failure: the exception class and the file."""
    message = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{type(exc).__name__} while loading {delivery.path}: {message}"[:2000]


def load_delivery(
    conn: Connection,
    spec: SourceSpec,
    delivery: Delivery,
    pseudonymiser: Pseudonymiser,
    *,
    operator: str | None = None,
    row_by_row: bool = False,
) -> LoadResult:
    """Load one delivery (see the module docstring); raises ``DeliveryRejected``.

    Any other exception while reading or loading the file rolls its transaction back and is
    recorded as a ``failed`` delivery with its cause (retried later, see ``ingestion.ledger``);
    only a lost database connection is raised, as nothing can be recorded then.

    ``operator`` names the person applying the delivery by hand (approving a held delivery or
    reinstating an earlier one): it then becomes current whatever its date, size or bytes.

    CSV is loaded in batches of columns (``ingestion.batches``); ``row_by_row`` takes the
    row-by-row path every other format takes, the reference the batch path is tested against.

    ``conn`` must not be inside a transaction: this function commits what it does.
    """
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    entity = spec.entities_by_name[delivery.entity]
    base = {
        "delivery_id": delivery.delivery_id,
        "body": delivery.body,
        "entity": delivery.entity,
        "period": delivery.period,
    }
    sha256, size = "", 0

    def result(status: str, **fields) -> LoadResult:
        return LoadResult(
            status=status,
            seconds=time.perf_counter() - started,
            file_sha256=sha256,
            bytes=size,
            **base,
            **fields,
        )

    def record(status: str, **fields) -> None:
        with conn.transaction():
            ledger.record(conn, delivery, sha256, size, status, started_at=started_at, **fields)

    try:
        sha256 = file_sha256(delivery.path)
        size = delivery.path.stat().st_size
        with conn.transaction():
            return _load_in_transaction(
                conn, spec, entity, delivery, pseudonymiser, sha256, size, started_at,
                operator, result, row_by_row,
            )  # fmt: skip
    except FileRejected as exc:
        record("rejected", error=exc.reason)
        rejected = result("rejected", error=exc.reason)
        raise DeliveryRejected(rejected, str(delivery.path)) from exc
    except _Held as held:
        record("held_for_review", rows=held.counts, error=held.note)
        delivered, loaded, quarantined = held.counts
        log.warning("%s: held for review: %s", delivery.path, held.note)
        return result(
            "held_for_review",
            rows_delivered=delivered,
            rows_loaded=loaded,
            rows_quarantined=quarantined,
            error=held.note,
        )
    except Exception as exc:
        if conn.broken or conn.closed:
            raise  # the database went away: nothing can be recorded; the run fails, retried
        cause = _cause(exc, delivery)
        log.error("%s: load failed: %s", delivery.path, cause, exc_info=exc)
        record("failed", error=cause)
        return result("failed", error=cause)


def _load_in_transaction(
    conn: Connection,
    spec: SourceSpec,
    entity: Entity,
    delivery: Delivery,
    pseudonymiser: Pseudonymiser,
    sha256: str,
    size: int,
    started_at: dt.datetime,
    operator: str | None,
    result,
    row_by_row: bool,
) -> LoadResult:
    def record(status: str, **fields) -> None:
        ledger.record(conn, delivery, sha256, size, status, started_at=started_at, **fields)

    # One loader at a time per (entity, period), so replacement decisions are sound.
    ledger.lock_period(conn, delivery.body, delivery.entity, delivery.period)
    known = ledger.entry(conn, delivery.delivery_id)
    if known is not None and not known.retry_due and not (operator and known.status != "loaded"):
        if known.file_sha256 != sha256:
            log.warning(
                "%s: the landed file changed after it was recorded (%s); not reloaded",
                delivery.path,
                known.status,
            )
        return result("already_recorded", error=known.status)
    note = None
    earlier = None if operator else ledger.first_with_sha(conn, delivery, sha256)
    if earlier is not None:
        if earlier.status == "superseded" and earlier.delivery_date < delivery.delivery_date:
            # The body re-sent bytes it delivered before, to undo a later correction.
            note = f"reinstates {earlier.delivery_id} (same bytes)"
        else:
            note = f"same bytes as {earlier.delivery_id}"
            record("duplicate", error=note)
            return result("duplicate", error=note)
    past_retention = ledger.expired(conn, delivery.body, delivery.entity, delivery.period)
    if past_retention is not None:
        note = f"period past retention ({past_retention.delivery_id} expired); not loaded"
        record("expired", error=note)
        return result("expired", error=note)
    loaded_now = ledger.current(conn, delivery.body, delivery.entity, delivery.period)
    if loaded_now is not None and loaded_now.delivery_id == delivery.delivery_id:
        return result("already_recorded", error="loaded")
    if (
        loaded_now is not None
        and loaded_now.delivery_date > delivery.delivery_date
        and operator is None
    ):
        note = f"older than {loaded_now.delivery_id}, which stays loaded"
        record("superseded", error=note)
        return result("superseded", error=note)
    if loaded_now is not None:
        delete_period_rows(conn, spec, entity, delivery.period, [loaded_now.delivery_id])
        ledger.mark_superseded(conn, loaded_now.delivery_id, delivery.delivery_id)
    key = ledger.new_delivery_key(conn)
    if entity.format == "csv" and not row_by_row:
        counts = _load_batches(conn, spec, entity, delivery, sha256, pseudonymiser, key)
    else:
        counts = _load_rows(conn, spec, entity, delivery, sha256, pseudonymiser, key)
    delivered, loaded, quarantined = counts
    summarize_new_ranges(conn, spec, entity)
    before = (loaded_now.rows_loaded or 0) if loaded_now is not None else 0
    if operator is None and shrinks_too_far(before, loaded, entity.row_count_tolerance):
        raise _Held(
            counts,
            f"would replace {before} rows of {loaded_now.delivery_id} with {loaded} rows "
            f"(more than the spec's tolerance of {entity.row_count_tolerance:.0%} fewer); "
            "not applied: approve or discard it (python -m ingestion deliveries)",
        )
    if operator is not None:
        note = f"applied by {operator}" + (
            f"; replaces {loaded_now.delivery_id}" if loaded_now else ""
        )
    record("loaded", rows=counts, error=note, delivery_key=key)
    if operator is not None:
        ledger.decide(conn, delivery.delivery_id, "loaded", note, operator)
    return result(
        "loaded",
        rows_delivered=delivered,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        replaced=loaded_now.delivery_id if loaded_now else None,
        error=note,
    )
