"""Load the deliveries in a landing folder, oldest first: the one way a folder is loaded.

``load_folder`` is the body of every load. Dagster's ingestion asset calls it for its entity
and periods (so the sensors, the UI and ``materialize_landing`` load through it), and
``load_landing`` calls it on a connection of its own for what loads without Dagster: the
operator's ``python -m ingestion load``, tests and benchmarks.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import Connection

from ingestion.landing import Delivery, find_deliveries
from ingestion.loader import DeliveryRejected, LoadResult, load_delivery
from ingestion.pseudonymise import Pseudonymiser
from ingestion.raw_tables import create_ingestion_tables
from ingestion.spec import SourceSpec, load_specs
from jigsaw.database import resolve_database_url
from jigsaw.paths import landing_dir as default_landing_dir

log = logging.getLogger(__name__)


@dataclass
class LoadSummary:
    results: list[LoadResult] = field(default_factory=list)

    @property
    def by_status(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.results))

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.results)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.results)

    @property
    def rejected(self) -> list[LoadResult]:
        return [r for r in self.results if r.status == "rejected"]

    @property
    def failed(self) -> list[LoadResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def held(self) -> list[LoadResult]:
        return [r for r in self.results if r.status == "held_for_review"]

    def describe(self) -> str:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.by_status.items()))
        lines = [
            f"{len(self.results)} deliveries ({statuses or 'none'}): "
            f"{self.rows_loaded} rows loaded, {self.rows_quarantined} quarantined"
        ]
        lines += [f"  rejected {r.delivery_id}: {r.error}" for r in self.rejected]
        lines += [f"  held for review {r.delivery_id}: {r.error}" for r in self.held]
        lines += [f"  FAILED {r.delivery_id}: {r.error}" for r in self.failed]
        return "\n".join(lines)


def prepare_database(conn: Connection, specs: list[SourceSpec]) -> None:
    """Create the ingestion tables; serialised so concurrent runs do not race on DDL.

    A load's setup (the Dagster load asset runs it once per run, ``load_landing`` once per
    call), never a sensor tick's or a check's: they only read the tables it makes."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('jigsaw:ingestion-ddl'))")
        create_ingestion_tables(conn, specs)


def load_deliveries(
    conn: Connection,
    specs: list[SourceSpec],
    deliveries: list[Delivery],
    pseudonymiser: Pseudonymiser,
) -> list[LoadResult]:
    """Load each delivery in order; a rejected, held or failed file is logged and recorded,
    not fatal: the next one is loaded all the same."""
    by_body = {s.body: s for s in specs}
    results = []
    for delivery in sorted(deliveries):
        try:
            results.append(load_delivery(conn, by_body[delivery.body], delivery, pseudonymiser))
        except DeliveryRejected as exc:
            log.error("%s", exc)
            results.append(exc.result)
    return results


def _every_delivery(delivery: Delivery) -> bool:
    return True


def load_folder(
    conn: Connection,
    specs: list[SourceSpec],
    landing: Path,
    wanted: Callable[[Delivery], bool] = _every_delivery,
) -> LoadSummary:
    """Load the ``wanted`` deliveries of the bodies in ``specs`` found under ``landing``, in
    delivery-date order, after making the ingestion tables. Stops before any work when there is
    no pseudonymisation key (MissingKeyError)."""
    pseudonymiser = Pseudonymiser()
    deliveries = [d for d in find_deliveries(landing, specs) if wanted(d)]
    prepare_database(conn, specs)
    return LoadSummary(load_deliveries(conn, specs, deliveries, pseudonymiser))


def load_landing(
    database_url: str | None = None,
    landing_dir: Path | None = None,
    specs: list[SourceSpec] | None = None,
) -> LoadSummary:
    """Every delivery under the landing folder, loaded by ``load_folder`` outside Dagster."""
    specs = specs if specs is not None else load_specs()
    Pseudonymiser()  # stops here, before the database is touched, when there is no key
    with psycopg.connect(database_url or resolve_database_url(), autocommit=True) as conn:
        return load_folder(conn, specs, landing_dir or default_landing_dir())
