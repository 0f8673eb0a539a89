"""What an operator does to deliveries by hand: approve or discard one held for review, and
reinstate an earlier one. Each decision is recorded in the ledger with who made it and when.

The delivered file is read again from the landing folder (landing is never modified), so the
decision loads exactly what the body delivered, through the same loader as every other load.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from psycopg import Connection

from ingestion import ledger
from ingestion.landing import Delivery
from ingestion.loader import LoadResult, load_delivery
from ingestion.pseudonymise import Pseudonymiser
from ingestion.spec import SourceSpec


class OperatorError(Exception):
    """A decision that cannot be made; the message says why."""


# What each command accepts a delivery in.
APPROVABLE = ("held_for_review",)
DISCARDABLE = ("held_for_review", "failed")
REINSTATABLE = ("superseded", "discarded", "failed", "held_for_review")


def _known(conn: Connection, delivery_id: str, allowed: tuple[str, ...], verb: str):
    known = ledger.entry(conn, delivery_id) if ledger.exists(conn) else None
    if known is None:
        raise OperatorError(f"{delivery_id}: no such delivery in the ledger")
    if known.status not in allowed:
        raise OperatorError(
            f"{delivery_id} is {known.status}; only a delivery that is "
            f"{' or '.join(allowed)} can be {verb}"
        )
    return known


def _delivery(known: ledger.LedgerEntry, landing: Path) -> Delivery:
    path = landing / known.body / known.delivery_date.isoformat() / known.file_name
    if not path.is_file():
        raise OperatorError(f"{known.delivery_id}: the delivered file {path} is not in landing")
    return Delivery(known.delivery_date, known.body, known.entity, known.period, path)


def _apply(
    conn: Connection,
    specs: list[SourceSpec],
    known: ledger.LedgerEntry,
    landing: Path,
    who: str,
    pseudonymiser: Pseudonymiser,
) -> LoadResult:
    spec = next((s for s in specs if s.body == known.body), None)
    if spec is None:
        raise OperatorError(f"{known.delivery_id}: no source spec for body {known.body!r}")
    result = load_delivery(conn, spec, _delivery(known, landing), pseudonymiser, operator=who)
    if result.status != "loaded":
        raise OperatorError(f"{known.delivery_id}: not applied: {result.status}: {result.error}")
    return result


def approve(
    conn: Connection,
    specs: list[SourceSpec],
    delivery_id: str,
    landing: Path,
    who: str,
    pseudonymiser: Pseudonymiser,
) -> LoadResult:
    """Apply a delivery held for review: it becomes its period's current delivery."""
    known = _known(conn, delivery_id, APPROVABLE, "approved")
    return _apply(conn, specs, known, landing, who, pseudonymiser)


def reinstate(
    conn: Connection,
    specs: list[SourceSpec],
    delivery_id: str,
    landing: Path,
    who: str,
    pseudonymiser: Pseudonymiser,
) -> LoadResult:
    """Make an earlier (superseded, discarded or failed) delivery current for its period."""
    known = _known(conn, delivery_id, REINSTATABLE, "reinstated")
    return _apply(conn, specs, known, landing, who, pseudonymiser)


def discard(conn: Connection, delivery_id: str, who: str) -> None:
    """Set a held (or failed) delivery aside for good: what is loaded for its period stays."""
    with conn.transaction():
        known = _known(conn, delivery_id, DISCARDABLE, "discarded")
        ledger.lock_period(conn, known.body, known.entity, known.period)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        ledger.decide(conn, delivery_id, "discarded", f"discarded by {who} at {stamp}", who)
