"""The delivery ledger (ingestion.deliveries): what arrived, what became of it, and why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg import Connection

from ingestion.landing import Delivery


@dataclass(frozen=True)
class LedgerEntry:
    delivery_id: str
    delivery_date: dt.date
    file_sha256: str
    status: str


def entry(conn: Connection, delivery_id: str) -> LedgerEntry | None:
    row = conn.execute(
        "select delivery_id, delivery_date, file_sha256, status from ingestion.deliveries "
        "where delivery_id = %s",
        (delivery_id,),
    ).fetchone()
    return LedgerEntry(*row) if row else None


def first_with_sha(conn: Connection, delivery: Delivery, sha256: str) -> LedgerEntry | None:
    """An earlier delivery of the same bytes for the same extract and period.

    The same bytes for another period are not a duplicate: a register that did not change
    (licensing) or a month with nothing to report gives identical files for different periods.
    """
    row = conn.execute(
        "select delivery_id, delivery_date, file_sha256, status from ingestion.deliveries"
        " where file_sha256 = %s and body = %s and entity = %s and period = %s"
        " and status <> 'duplicate' order by started_at limit 1",
        (sha256, delivery.body, delivery.entity, delivery.period),
    ).fetchone()
    return LedgerEntry(*row) if row else None


def lock_period(conn: Connection, body: str, entity: str, period: str) -> None:
    """Hold, until the transaction ends, the lock every writer of an extract's period takes
    (the loader, retention), so their decisions about that period are sound."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"{body}/{entity}/{period}",))


def _in_period(
    conn: Connection, body: str, entity: str, period: str, status: str
) -> LedgerEntry | None:
    row = conn.execute(
        "select delivery_id, delivery_date, file_sha256, status from ingestion.deliveries "
        "where body = %s and entity = %s and period = %s and status = %s limit 1",
        (body, entity, period, status),
    ).fetchone()
    return LedgerEntry(*row) if row else None


def current(conn: Connection, body: str, entity: str, period: str) -> LedgerEntry | None:
    """The delivery whose rows are in raw for this period, if any."""
    return _in_period(conn, body, entity, period, "loaded")


def expired(conn: Connection, body: str, entity: str, period: str) -> LedgerEntry | None:
    """A delivery of this period whose rows were deleted at the end of retention, if any."""
    return _in_period(conn, body, entity, period, "expired")


def recorded_files(conn: Connection, body: str) -> set[tuple[str, str, str]]:
    """(entity, period, sha256) of every file of a body the ledger has seen."""
    rows = conn.execute(
        "select distinct entity, period, file_sha256 from ingestion.deliveries where body = %s",
        (body,),
    ).fetchall()
    return {(entity, period, sha) for entity, period, sha in rows}


def record(
    conn: Connection,
    delivery: Delivery,
    sha256: str,
    size: int,
    status: str,
    *,
    rows: tuple[int, int, int] | None = None,
    error: str | None = None,
) -> None:
    delivered, loaded, quarantined = rows or (None, None, None)
    conn.execute(
        "insert into ingestion.deliveries (delivery_id, body, entity, period, delivery_date,"
        " file_name, file_sha256, bytes, status, rows_delivered, rows_loaded, rows_quarantined,"
        " error, finished_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())",
        (
            delivery.delivery_id,
            delivery.body,
            delivery.entity,
            delivery.period,
            delivery.delivery_date,
            delivery.file_name,
            sha256,
            size,
            status,
            delivered,
            loaded,
            quarantined,
            error,
        ),
    )


def mark_superseded(conn: Connection, delivery_id: str, by: str) -> None:
    conn.execute(
        "update ingestion.deliveries set status = 'superseded',"
        " error = 'replaced by the corrected re-delivery ' || %s where delivery_id = %s",
        (by, delivery_id),
    )


def rejected(conn: Connection, body: str, entity: str) -> list[tuple[str, str]]:
    """(delivery id, reason) of every rejected delivery of an entity, newest first."""
    return conn.execute(
        "select delivery_id, error from ingestion.deliveries where body = %s and entity = %s"
        " and status = 'rejected' order by delivery_date desc, delivery_id",
        (body, entity),
    ).fetchall()
