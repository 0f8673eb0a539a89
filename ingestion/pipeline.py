"""Load every delivery in the landing folder, oldest delivery first, without Dagster.

Dagster's ingestion assets call the same functions per (entity, period); this module is for
the demo runner, tests and tools: ``load_landing(database_url)`` returns a summary, and
``python -m ingestion.pipeline`` prints one.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
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


def load_landing(
    database_url: str | None = None,
    landing_dir: Path | None = None,
    specs: list[SourceSpec] | None = None,
) -> LoadSummary:
    """Load every delivery found under the landing folder, in delivery-date order."""
    specs = specs if specs is not None else load_specs()
    pseudonymiser = Pseudonymiser()  # stops here, before any work, when there is no key
    landing = landing_dir or default_landing_dir()
    deliveries = find_deliveries(landing, specs)
    with psycopg.connect(database_url or resolve_database_url(), autocommit=True) as conn:
        prepare_database(conn, specs)
        return LoadSummary(load_deliveries(conn, specs, deliveries, pseudonymiser))


def main() -> int:
    from ingestion.cli import main as cli_main  # the operator CLI's `load`, kept under this name

    return cli_main(["load"])


if __name__ == "__main__":
    sys.exit(main())
