"""Enforce each body's retention: delete the rows its sharing agreement no longer lets us keep.

A delivered period is kept for ``retention_months`` (the body's agreement) after the end of the
month it covers. Past that, everything Jigsaw holds of it that identifies people goes, in one
transaction per extract and period: its raw rows, its identity rows (clear identifiers), and
its quarantined rows (their original lines hold clear values too). The ledger keeps its entries
(file name, hash, row counts: no personal data) with status ``expired``, so what arrived stays
accounted for, and the loader will not load that period again. The files delivered for those
periods are deleted from the landing folder too (``delete_landed_files``).

dbt's incremental tables keep rows between runs, so the Dagster ``retention`` job rebuilds them
in full after a purge; every other model is rebuilt by each run, so the next regional build
carries the purge to the marts. (After this command alone, run that job or a full refresh.)

``python -m ingestion.retention [--as-of YYYY-MM-DD] [--dry-run] [--keep-landed-files]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import Connection

from ingestion import ledger
from ingestion.landing import period_number, period_of
from ingestion.loader import delete_period_rows
from ingestion.spec import Entity, SourceSpec, load_specs
from jigsaw.database import resolve_database_url
from jigsaw.paths import landing_dir

# Statuses whose deliveries left rows behind (raw and identity for loaded ones, quarantined
# lines for both); duplicates and rejected files left none.
_HOLDING_ROWS = ("loaded", "superseded")


@dataclass(frozen=True)
class ExpiredSlice:
    body: str
    entity: str
    period: str
    deliveries: int
    raw_rows: int
    identity_rows: int
    quarantined_rows: int


def oldest_kept_period(retention_months: int, as_of: dt.date) -> str:
    """The oldest period (YYYY-MM) still within retention on ``as_of``.

    A period expires once ``retention_months`` whole months have passed since its month ended:
    with 36 months, 2023-10 (ended 31 October 2023) is kept until 31 October 2026.
    """
    return period_of(period_number(f"{as_of:%Y-%m}") - retention_months)


def expired_periods(
    conn: Connection, spec: SourceSpec, entity: Entity, as_of: dt.date
) -> list[tuple[str, list[str]]]:
    """(period, delivery ids) of the extract's deliveries past retention that left rows."""
    cutoff = oldest_kept_period(spec.sharing_agreement.retention_months, as_of)
    return conn.execute(
        "select period, array_agg(delivery_id order by delivery_id) from ingestion.deliveries"
        " where body = %s and entity = %s and period < %s and status = any(%s)"
        " group by period order by period",
        (spec.body, entity.name, cutoff, list(_HOLDING_ROWS)),
    ).fetchall()


def _purge_slice(
    conn: Connection, spec: SourceSpec, entity: Entity, period: str, as_of: dt.date
) -> ExpiredSlice:
    months = spec.sharing_agreement.retention_months
    with conn.transaction():
        # The loader's lock for this period: no delivery of it loads while it is purged.
        ledger.lock_period(conn, spec.body, entity.name, period)
        deliveries = [  # again, under the lock: a load may have replaced one meanwhile
            row[0]
            for row in conn.execute(
                "select delivery_id from ingestion.deliveries where body = %s and entity = %s"
                " and period = %s and status = any(%s)",
                (spec.body, entity.name, period, list(_HOLDING_ROWS)),
            )
        ]
        raw, identity = delete_period_rows(conn, spec, entity, period, deliveries)
        quarantined = conn.execute(
            "delete from ingestion.quarantine where delivery_id = any(%s)", (deliveries,)
        ).rowcount
        conn.execute(
            "update ingestion.deliveries set status = 'expired',"
            " error = concat_ws('; ', %s::text, error) where delivery_id = any(%s)",
            (
                f"past the {months}-month retention of agreement "
                f"{spec.sharing_agreement.reference} on {as_of.isoformat()}: rows deleted",
                deliveries,
            ),
        )
    return ExpiredSlice(spec.body, entity.name, period, len(deliveries), raw, identity, quarantined)


def purge_expired(
    conn: Connection,
    specs: list[SourceSpec],
    as_of: dt.date | None = None,
    *,
    dry_run: bool = False,
) -> list[ExpiredSlice]:
    """Delete every extract's periods past retention on ``as_of`` (default today).

    ``conn`` must not be inside a transaction. With ``dry_run`` nothing is deleted and the
    slices come back with their delivery counts only.
    """
    as_of = as_of or dt.date.today()
    purged = []
    for spec in specs:
        for entity in spec.entities:
            for period, deliveries in expired_periods(conn, spec, entity, as_of):
                if dry_run:
                    purged.append(
                        ExpiredSlice(spec.body, entity.name, period, len(deliveries), 0, 0, 0)
                    )
                    continue
                purged.append(_purge_slice(conn, spec, entity, period, as_of))
    return purged


def delete_landed_files(
    conn: Connection, specs: list[SourceSpec], landing: Path, as_of: dt.date | None = None
) -> list[Path]:
    """Delete the landed files of every delivery (whatever became of it) of a period past
    retention: they hold the clear values the database no longer keeps. Returns the paths."""
    as_of = as_of or dt.date.today()
    deleted = []
    for spec in specs:
        cutoff = oldest_kept_period(spec.sharing_agreement.retention_months, as_of)
        rows = conn.execute(
            "select delivery_id from ingestion.deliveries where body = %s and period < %s"
            " order by delivery_id",
            (spec.body, cutoff),
        ).fetchall()
        for (delivery_id,) in rows:
            path = landing / delivery_id  # <body>/<delivery date>/<file name>
            if path.is_file():
                path.unlink()
                deleted.append(path)
    return deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    parser.add_argument(
        "--keep-landed-files", action="store_true", help="leave the delivered files in landing"
    )
    args = parser.parse_args(argv)
    specs = load_specs()
    with psycopg.connect(resolve_database_url(announce=True), autocommit=True) as conn:
        purged = purge_expired(conn, specs, args.as_of, dry_run=args.dry_run)
        files = []
        if not (args.dry_run or args.keep_landed_files):
            files = delete_landed_files(conn, specs, landing_dir(), args.as_of)
    verb = "would expire" if args.dry_run else "expired"
    for s in purged:
        print(
            f"{verb} {s.body}.{s.entity} {s.period}: {s.deliveries} deliveries, "
            f"{s.raw_rows} raw, {s.identity_rows} identity, {s.quarantined_rows} quarantined rows"
        )
    print(f"{len(purged)} extract periods past retention on {args.as_of.isoformat()}")
    print(f"{len(files)} landed files deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
