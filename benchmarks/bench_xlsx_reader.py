"""XLSX reading speed: the reader against openpyxl reading the values alone, as the reader did
before it told a formula never calculated from an empty cell. A workbook without formulas is
read once (after a scan of its parts for formula tags), as is one a spreadsheet program saved
calculated; one a library wrote with formulas (no values) is read twice side by side, values
and formulas. The first and the last are measured.

No target: the figures say what telling formulas apart costs.

``python -m benchmarks.bench_xlsx_reader [--rows N]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook, load_workbook

from ingestion.readers import read_records
from ingestion.spec import load_specs

ROWS = 50_000
BODY, ENTITY = "revenues_benefits", "council_tax_support"


def write_workbook(path: Path, entity, rows: int, weekly: object = 12.5) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(entity.sheet)
    sheet.append([c.source_name for c in entity.columns])
    for i in range(rows):
        sheet.append(
            [f"CTS{i}", f"RB{i}", "Mary", "Brown", dt.datetime(1975, 6, 30), "QQ123456C",
             f"{i} Mill Road", "AB2 3EF", 100012345600 + i, dt.datetime(2025, 4, 1), weekly,
             "active"]
        )  # fmt: skip
    workbook.save(path)


def values_only(path: Path, sheet: str) -> int:
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in workbook[sheet].iter_rows(values_only=True)) - 1
    finally:
        workbook.close()


def records(path: Path, entity) -> int:
    return sum(1 for _ in read_records(path, entity))


def timed(read, *args) -> tuple[int, float]:
    started = time.perf_counter()
    count = read(*args)
    return count, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    rows = parser.parse_args(argv or []).rows
    [spec] = [s for s in load_specs() if s.body == BODY]
    [entity] = [e for e in spec.entities if e.name == ENTITY]
    figures = {"benchmark": "xlsx_reader", "rows": rows}
    with tempfile.TemporaryDirectory() as folder:
        for kind, weekly in (("plain", 12.5), ("formulas", "=10+2.5")):
            path = Path(folder) / f"{kind}.xlsx"
            write_workbook(path, entity, rows, weekly)
            baseline, baseline_s = timed(values_only, path, entity.sheet)
            read, reader_s = timed(records, path, entity)
            assert read == baseline == rows, (read, baseline, rows)
            print(
                f"{kind}: {rows} rows ({path.stat().st_size / 1e6:.1f} MB): openpyxl values "
                f"only {baseline_s:.1f} s, the reader {reader_s:.1f} s"
            )
            figures[f"{kind}_openpyxl_values_only_rows_per_s"] = round(rows / baseline_s)
            figures[f"{kind}_reader_rows_per_s"] = round(rows / reader_s)
            figures[f"{kind}_reader_cost_ratio"] = round(reader_s / baseline_s, 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
