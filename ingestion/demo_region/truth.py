"""The ground truth, written beside (never inside) the landing folder; read by evaluation only.

Large tables are streamed as the simulation runs, so memory stays flat at any size.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ingestion.demo_region.config import RegionConfig, period

DELIVERY_FIELDS = [
    "body",
    "entity",
    "period",
    "delivery_date",
    "file",
    "kind",
    "rows_written",
    "rows_corrupted",
    "corruption",
    "bytes",
    "sha256",
]
EVENT_FIELDS = [
    "event_id",
    "body",
    "entity",
    "period",
    "event_date",
    "person_id",
    "household_id",
    "uprn",
    "kind",
    "end_period",
]


def person_id(index: int) -> str:
    return f"P{index + 1:08d}"


def household_id(index: int) -> str:
    return f"H{index + 1:08d}"


class TruthWriter:
    def __init__(self, config: RegionConfig, folder: Path, uprns: list[str]) -> None:
        self.config = config
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.uprns = uprns
        self._files = {}
        self._writers = {}
        for name, header in (
            ("residence", ["person_id", "household_id", "uprn", "from_period", "to_period"]),
            ("households", ["household_id", "uprn", "from_period", "to_period"]),
            ("events", EVENT_FIELDS),
            ("deliveries", DELIVERY_FIELDS),
            ("corrupt_rows", ["file", "row_number", "kind"]),
        ):
            handle = open(folder / f"{name}.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._files[name] = handle
            self._writers[name] = csv.writer(handle, lineterminator="\n")
            self._writers[name].writerow(header)

    def period(self, m: int) -> str:
        return period(self.config, m)

    def residence(self, person: int, household: int, prop: int, m_from: int, m_to: int) -> None:
        if m_to < m_from:
            return
        self._writers["residence"].writerow(
            [
                person_id(person),
                household_id(household),
                self.uprns[prop],
                self.period(m_from),
                self.period(m_to),
            ]
        )

    def household_spell(self, household: int, prop: int, m_from: int, m_to: int) -> None:
        if m_to < m_from:
            return
        self._writers["households"].writerow(
            [household_id(household), self.uprns[prop], self.period(m_from), self.period(m_to)]
        )

    def event(
        self,
        event_id: str,
        body: str,
        entity: str,
        m: int,
        when,
        person: int | None,
        household: int | None,
        prop: int | None,
        kind: str,
        end_m: int | None = None,
    ) -> None:
        self._writers["events"].writerow(
            [
                event_id,
                body,
                entity,
                self.period(m),
                when.isoformat() if when else "",
                person_id(person) if person is not None else "",
                household_id(household) if household is not None else "",
                self.uprns[prop] if prop is not None else "",
                kind,
                self.period(end_m) if end_m is not None else "",
            ]
        )

    def delivery(self, **fields) -> None:
        self._writers["deliveries"].writerow([fields[k] for k in DELIVERY_FIELDS])

    def corrupt_row(self, file: str, row_number: int, kind: str) -> None:
        self._writers["corrupt_rows"].writerow([file, row_number, kind])

    def table(self, name: str, header: list[str], rows) -> None:
        with open(self.folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
