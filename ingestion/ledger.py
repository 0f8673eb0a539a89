"""The delivery ledger (ingestion.deliveries): what arrived, what became of it, and why.

Every question about the ledger (what is current for a period, what failed and is due for a
retry, what waits for an operator) is asked here, so the loader, the sensor, the checks and the
operator CLI read the same answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg import Connection

from ingestion.landing import Delivery

# A delivery whose load failed (an exception, not a rejected file) is tried again this many
# times in all, waiting RETRY_BACKOFF after the first failure and twice as long after each
# further one; then it stays failed until an operator reinstates it.
MAX_ATTEMPTS = 3
RETRY_BACKOFF = dt.timedelta(minutes=5)

# Statuses of deliveries that accounted for their period (an expired one did, until retention).
_DELIVERED = ["loaded", "superseded", "expired"]

_COLUMNS = (
    "delivery_id, delivery_date, file_sha256, status, period, rows_loaded, attempts,"
    " next_attempt_at, file_name, body, entity"
)


@dataclass(frozen=True)
class LedgerEntry:
    delivery_id: str
    delivery_date: dt.date
    file_sha256: str
    status: str
    period: str = ""
    rows_loaded: int | None = None
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    file_name: str = ""
    body: str = ""
    entity: str = ""

    @property
    def retry_due(self) -> bool:
        """A failed load that may be tried again now."""
        if self.status != "failed" or self.attempts >= MAX_ATTEMPTS:
            return False
        return self.next_attempt_at is None or self.next_attempt_at <= dt.datetime.now(dt.UTC)


def _one(conn: Connection, where: str, params: tuple) -> LedgerEntry | None:
    row = conn.execute(
        f"select {_COLUMNS} from ingestion.deliveries where {where}", params
    ).fetchone()
    return LedgerEntry(*row) if row else None


def entry(conn: Connection, delivery_id: str) -> LedgerEntry | None:
    return _one(conn, "delivery_id = %s", (delivery_id,))


def first_with_sha(conn: Connection, delivery: Delivery, sha256: str) -> LedgerEntry | None:
    """An earlier delivery of the same bytes for the same extract and period.

    The same bytes for another period are not a duplicate: a register that did not change
    (licensing) or a month with nothing to report gives identical files for different periods.
    A failed load is no earlier delivery: it is retried under its own id.
    """
    return _one(
        conn,
        "file_sha256 = %s and body = %s and entity = %s and period = %s and delivery_id <> %s"
        " and status not in ('duplicate', 'failed') order by started_at limit 1",
        (sha256, delivery.body, delivery.entity, delivery.period, delivery.delivery_id),
    )


def lock_period(conn: Connection, body: str, entity: str, period: str) -> None:
    """Hold, until the transaction ends, the lock every writer of an extract's period takes
    (the loader, retention, the operator CLI), so their decisions about that period are sound."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"{body}/{entity}/{period}",))


def _in_period(
    conn: Connection, body: str, entity: str, period: str, status: str
) -> LedgerEntry | None:
    return _one(
        conn,
        "body = %s and entity = %s and period = %s and status = %s limit 1",
        (body, entity, period, status),
    )


def current(conn: Connection, body: str, entity: str, period: str) -> LedgerEntry | None:
    """The delivery whose rows are in raw for this period, if any."""
    return _in_period(conn, body, entity, period, "loaded")


def expired(conn: Connection, body: str, entity: str, period: str) -> LedgerEntry | None:
    """A delivery of this period whose rows were deleted at the end of retention, if any."""
    return _in_period(conn, body, entity, period, "expired")


def recorded_files(conn: Connection, body: str) -> set[tuple[str, str, str]]:
    """(entity, period, sha256) of every file of a body the ledger has settled: all but failed
    loads still due for a retry (``retries_due``)."""
    rows = conn.execute(
        "select entity, period, file_sha256, status, attempts, next_attempt_at"
        " from ingestion.deliveries where body = %s",
        (body,),
    ).fetchall()
    now = dt.datetime.now(dt.UTC)
    return {
        (entity, period, sha)
        for entity, period, sha, status, attempts, due in rows
        if not (status == "failed" and attempts < MAX_ATTEMPTS and (due is None or due <= now))
    }


def retries_due(conn: Connection, body: str) -> dict[str, int]:
    """delivery id -> attempts made, of the body's failed loads due for another attempt."""
    rows = conn.execute(
        "select delivery_id, attempts from ingestion.deliveries where body = %s"
        " and status = 'failed' and attempts < %s"
        " and (next_attempt_at is null or next_attempt_at <= now())",
        (body, MAX_ATTEMPTS),
    ).fetchall()
    return dict(rows)


def new_delivery_key(conn: Connection) -> int:
    """A key for a delivery about to be loaded: its raw rows carry it (``_delivery_key``) and
    ``record`` stores it with the delivery, in the same transaction."""
    return conn.execute(
        "select nextval(pg_get_serial_sequence('ingestion.deliveries', 'delivery_key'))"
    ).fetchone()[0]


def record(
    conn: Connection,
    delivery: Delivery,
    sha256: str,
    size: int,
    status: str,
    *,
    rows: tuple[int, int, int] | None = None,
    error: str | None = None,
    started_at: dt.datetime | None = None,
    delivery_key: int | None = None,
) -> None:
    """Write what became of a delivery. A delivery tried before (a failed load) keeps its row:
    the attempt count goes up, and a failure sets when the next attempt is due.

    ``delivery_key``: the key its raw rows carry (``new_delivery_key``), for a loaded delivery;
    a delivery recorded without one keeps its key, or gets a new one."""
    delivered, loaded, quarantined = rows or (None, None, None)
    conn.execute(
        "insert into ingestion.deliveries (delivery_id, body, entity, period, delivery_date,"
        " file_name, file_sha256, bytes, status, rows_delivered, rows_loaded, rows_quarantined,"
        " error, started_at, finished_at, attempts, next_attempt_at, delivery_key)"
        " values (%(id)s, %(body)s, %(entity)s, %(period)s, %(date)s, %(file)s, %(sha)s,"
        " %(bytes)s, %(status)s, %(delivered)s, %(loaded)s, %(quarantined)s, %(error)s,"
        " coalesce(%(started)s, clock_timestamp()), clock_timestamp(), 1,"
        " case when %(status)s = 'failed' then clock_timestamp() + %(backoff)s end,"
        " coalesce(%(key)s::integer,"
        "   nextval(pg_get_serial_sequence('ingestion.deliveries', 'delivery_key'))))"
        " on conflict (delivery_id) do update set status = excluded.status,"
        " delivery_key = coalesce(%(key)s::integer, ingestion.deliveries.delivery_key),"
        " file_sha256 = excluded.file_sha256, bytes = excluded.bytes,"
        " rows_delivered = excluded.rows_delivered, rows_loaded = excluded.rows_loaded,"
        " rows_quarantined = excluded.rows_quarantined, error = excluded.error,"
        " started_at = excluded.started_at, finished_at = excluded.finished_at,"
        " attempts = ingestion.deliveries.attempts + 1,"
        " next_attempt_at = case when excluded.status = 'failed' then clock_timestamp()"
        "   + %(backoff)s * power(2, ingestion.deliveries.attempts) end",
        {
            "id": delivery.delivery_id,
            "body": delivery.body,
            "entity": delivery.entity,
            "period": delivery.period,
            "date": delivery.delivery_date,
            "file": delivery.file_name,
            "sha": sha256,
            "bytes": size,
            "status": status,
            "delivered": delivered,
            "loaded": loaded,
            "quarantined": quarantined,
            "error": error,
            "started": started_at,
            "backoff": RETRY_BACKOFF,
            "key": delivery_key,
        },
    )


def mark_superseded(conn: Connection, delivery_id: str, by: str) -> None:
    conn.execute(
        "update ingestion.deliveries set status = 'superseded',"
        " error = 'replaced by the corrected re-delivery ' || %s where delivery_id = %s",
        (by, delivery_id),
    )


def decide(conn: Connection, delivery_id: str, status: str, note: str, who: str) -> None:
    """An operator's decision on a delivery: its new status, why, who and when."""
    conn.execute(
        "update ingestion.deliveries set status = %s, error = %s, decided_by = %s,"
        " decided_at = clock_timestamp() where delivery_id = %s",
        (status, note, who, delivery_id),
    )


def rejected(conn: Connection, body: str, entity: str) -> list[tuple[str, str]]:
    """(delivery id, reason) of every rejected delivery of an entity, newest first."""
    return conn.execute(
        "select delivery_id, error from ingestion.deliveries where body = %s and entity = %s"
        " and status = 'rejected' order by delivery_date desc, delivery_id",
        (body, entity),
    ).fetchall()


def unresolved_rejections(conn: Connection, body: str, entity: str) -> list[tuple[str, str]]:
    """(delivery id, reason) of rejected files whose period has no accepted delivery made
    after them."""
    return conn.execute(
        "select r.delivery_id, r.error from ingestion.deliveries r"
        " where r.body = %s and r.entity = %s and r.status = 'rejected' and not exists ("
        "   select 1 from ingestion.deliveries l where l.body = r.body and l.entity = r.entity"
        "   and l.period = r.period and l.status = any(%s) and l.delivery_date > r.delivery_date)"
        " order by r.delivery_date, r.delivery_id",
        (body, entity, _DELIVERED),
    ).fetchall()


def delivered_periods(conn: Connection, body: str, entity: str) -> set[str]:
    """The periods an extract has delivered."""
    return {
        row[0]
        for row in conn.execute(
            "select distinct period from ingestion.deliveries"
            " where body = %s and entity = %s and status = any(%s)",
            (body, entity, _DELIVERED),
        )
    }


def latest_delivered_period(conn: Connection, extracts: list[tuple[str, str]]) -> str | None:
    """The newest period any of ``extracts`` (body, entity) delivered; None before any."""
    return conn.execute(
        "select max(d.period) from ingestion.deliveries as d"
        " join unnest(%s::text[], %s::text[]) as s (body, entity)"
        " on d.body = s.body and d.entity = s.entity where d.status = any(%s)",
        ([b for b, _ in extracts], [e for _, e in extracts], _DELIVERED),
    ).fetchone()[0]


def not_applied(conn: Connection, body: str, entity: str) -> list[tuple[str, str, str]]:
    """(delivery id, status, cause) of an entity's deliveries that are not applied and not
    settled: held for review, or failed (with when the next attempt is due, if any)."""
    return conn.execute(
        "select delivery_id, status, case when status = 'failed' and attempts < %s"
        " then error || ' (attempt ' || attempts || ' of ' || %s || '; next after '"
        " || to_char(next_attempt_at, 'YYYY-MM-DD HH24:MI TZ') || ')'"
        " when status = 'failed' then error || ' (no attempt left: reinstate it)'"
        " else error end from ingestion.deliveries"
        " where body = %s and entity = %s and status in ('held_for_review', 'failed')"
        " order by delivery_date, delivery_id",
        (MAX_ATTEMPTS, MAX_ATTEMPTS, body, entity),
    ).fetchall()


def listing(conn: Connection, body: str | None = None, status: str | None = None) -> list[tuple]:
    """The ledger for the operator: newest first, optionally one body or one status."""
    return conn.execute(
        "select delivery_id, period, status, rows_delivered, rows_loaded, rows_quarantined,"
        " attempts, decided_by, error from ingestion.deliveries"
        " where (%(body)s::text is null or body = %(body)s)"
        " and (%(status)s::text is null or status = %(status)s)"
        " order by delivery_date desc, body, entity, period desc, delivery_id",
        {"body": body, "status": status},
    ).fetchall()


def exists(conn: Connection) -> bool:
    """Whether the ledger has been created (by a load); readers of it need not create it."""
    return conn.execute("select to_regclass('ingestion.deliveries') is not null").fetchone()[0]


# Outcomes that changed what raw holds for a period: rows loaded (a new period, or a corrected
# re-delivery replacing the one it superseded, or an approved one that emptied it) or deleted at
# the end of retention.
CHANGED_RAW = ("loaded", "superseded", "expired")


def changed_periods(
    conn: Connection, body: str, since: dt.datetime, until: dt.datetime | None = None
) -> list[tuple[str, str, str]]:
    """(body, entity, period) whose raw rows a body's deliveries settled between ``since`` and
    ``until`` changed (loaded, replaced, emptied or expired): the slice the build after them
    must rebuild. A duplicate, rejected, held or failed delivery changes nothing."""
    rows = conn.execute(
        "select distinct body, entity, period from ingestion.deliveries"
        " where body = %s and status = any(%s)"
        " and greatest(finished_at, decided_at) >= %s"
        " and (%s::timestamptz is null or least(finished_at, decided_at) <= %s)"
        " order by body, entity, period",
        (body, list(CHANGED_RAW), since, until, until),
    ).fetchall()
    return [tuple(row) for row in rows]
