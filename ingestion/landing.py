"""Find deliveries in the landing folder: landing/<body>/<delivery-date YYYY-MM-DD>/<file>."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from ingestion.spec import Entity, SourceSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Delivery:
    """One delivered file; ordered by delivery date so loading in order replays history."""

    delivery_date: dt.date
    body: str
    entity: str
    period: str
    path: Path

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def delivery_id(self) -> str:
        return f"{self.body}/{self.delivery_date.isoformat()}/{self.path.name}"


def period_number(period: str) -> int:
    """A period (YYYY-MM) as a count of months, so periods can be stepped and compared."""
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def period_of(number: int) -> str:
    """The period (YYYY-MM) of a ``period_number``."""
    year, month = divmod(number, 12)
    return f"{year:04d}-{month + 1:02d}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def match_file(spec: SourceSpec, file_name: str) -> tuple[Entity, str] | None:
    """The entity and period a file name belongs to, or None when no entity claims it."""
    for entity in spec.entities:
        found = entity.file_regex().match(file_name)
        if found:
            return entity, found.group("period")
    return None


def delivery_for(spec: SourceSpec, path: Path) -> Delivery | None:
    """The delivery a landed file is, or None for a file outside the landing layout."""
    try:
        delivery_date = dt.date.fromisoformat(path.parent.name)
    except ValueError:
        return None
    matched = match_file(spec, path.name)
    if matched is None:
        return None
    entity, period = matched
    return Delivery(delivery_date, spec.body, entity.name, period, path)


def find_deliveries(landing_dir: Path, specs: list[SourceSpec]) -> list[Delivery]:
    """Every recognised delivery under ``landing_dir``, oldest delivery date first.

    Files that no spec claims are logged and skipped: they are not deliveries of a known
    extract, and loading them would need a spec first.
    """
    found: list[Delivery] = []
    for spec in specs:
        for path in sorted((landing_dir / spec.body).glob("*/*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            delivery = delivery_for(spec, path)
            if delivery is None:
                log.warning("%s: not a delivery of any %s extract; skipped", path, spec.body)
                continue
            found.append(delivery)
    return sorted(found)
