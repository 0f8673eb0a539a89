"""Turn each month's extract into files in landing/<body>/<delivery-date>/, the way bodies
really deliver: mostly on time, sometimes late, twice, corrected later, or broken.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from ingestion.demo_region.config import RegionConfig, month_start, period
from ingestion.demo_region.formats import FILE_CORRUPTIONS, encode, row_corruptions
from ingestion.spec import Entity, SourceSpec

Encoder = Callable[..., bytes]

# Days after the month ends that each body's extract normally arrives.
DELIVERY_LAG_DAYS = {
    "acute_trust": 4,
    "adult_social_care": 6,
    "childrens_social_care": 5,
    "home_sensors": 1,
    "housing_provider": 8,
    "licensing": 10,
    "police": 3,
    "reference": 0,
    "revenues_benefits": 7,
    "schools": 9,
}


class Deliverer:
    def __init__(self, config: RegionConfig, landing: Path, truth) -> None:
        self.config = config
        self.landing = landing
        self.truth = truth
        self.stats: dict[str, dict[str, int]] = defaultdict(
            lambda: {"files": 0, "rows": 0, "bytes": 0}
        )

    def _write(
        self,
        spec: SourceSpec,
        entity: Entity,
        m: int,
        when: date,
        data: bytes,
        kind: str,
        rows: int,
        corrupted: int,
        corruption: str = "",
    ) -> str:
        name = entity.file_pattern.replace("{period}", period(self.config, m))
        folder = self.landing / spec.body / when.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        relative = f"{spec.body}/{when.isoformat()}/{name}"
        self.truth.delivery(
            body=spec.body,
            entity=entity.name,
            period=period(self.config, m),
            delivery_date=when.isoformat(),
            file=relative,
            kind=kind,
            rows_written=rows,
            rows_corrupted=corrupted,
            corruption=corruption,
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        stats = self.stats[spec.body]
        stats["files"] += 1
        stats["rows"] += rows
        stats["bytes"] += len(data)
        return relative

    def deliver(
        self,
        spec: SourceSpec,
        entity: Entity,
        m: int,
        rows: list,
        first_delivery: date | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        """Write one extract (entity, month m) as one or more delivered files.

        rows are dicts for formats.encode, or whatever a custom encoder takes (sensor lines).
        """
        if encoder is None:

            def encoder(items, corrupt=None, file_corruption=None):
                return encode(entity, items, corrupt, file_corruption)

        noise = self.config.delivery
        rng = random.Random(f"{self.config.seed}:deliver:{spec.body}:{entity.name}:{m}")
        if first_delivery is None:
            first_delivery = month_start(self.config, m + 1) + timedelta(
                days=DELIVERY_LAG_DAYS.get(spec.body, 5) + rng.randrange(0, 3)
            )
        when = first_delivery
        roll = rng.random()
        broken = roll < noise.corrupt_file
        late = not broken and roll < noise.corrupt_file + noise.late
        corrected = not broken and rng.random() < noise.corrected
        duplicate = not broken and rng.random() < noise.duplicate
        if late:
            when += timedelta(days=rng.randrange(25, 70))

        if broken:
            corruption = rng.choice(FILE_CORRUPTIONS[entity.format])
            data = encoder(rows, None, corruption)
            self._write(
                spec, entity, m, when, data, "corrupt_file", len(rows), len(rows), corruption
            )
            # The body is told its file was rejected and sends a good one.
            fixed = encoder(rows)
            later = when + timedelta(days=rng.randrange(5, 20))
            self._write(spec, entity, m, later, fixed, "corrected", len(rows), 0)
            return

        # The first file of an extract that is later corrected is missing some rows: at least
        # one, or the correction would be the same bytes again, which the ledger rightly calls
        # a duplicate. An extract with no rows has nothing to correct.
        corrected = corrected and bool(rows)
        first_rows = rows
        if corrected:
            first_rows = [r for r in rows if rng.random() >= 0.08]
            if len(first_rows) == len(rows):
                first_rows = rows[:]
                del first_rows[rng.randrange(len(rows))]
        corrupt: dict[int, str] = {}
        kinds = row_corruptions(entity)
        if noise.corrupt_row > 0:
            for i in range(len(first_rows)):
                if rng.random() < noise.corrupt_row:
                    corrupt[i] = rng.choice(kinds)
        data = encoder(first_rows, corrupt)
        relative = self._write(
            spec, entity, m, when, data, "late" if late else "normal", len(first_rows), len(corrupt)
        )
        for i, kind in sorted(corrupt.items()):
            self.truth.corrupt_row(relative, i + 1, kind)
        if duplicate:
            again = when + timedelta(days=rng.randrange(3, 12))
            self._write(spec, entity, m, again, data, "duplicate", len(first_rows), len(corrupt))
        if corrected:
            fixed = encoder(rows)
            later = when + timedelta(days=rng.randrange(14, 40))
            self._write(spec, entity, m, later, fixed, "corrected", len(rows), 0)
