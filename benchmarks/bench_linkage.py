"""Linkage benchmark: time, peak memory, pairs compared and accuracy at 20k and 100k residents.

Uses the demo region (every body's deliveries, loaded into a throwaway database by the real
loader) and links identity.person_records with the project's run; then compares splink's
DuckDB and PostgreSQL backends on the same records. Sizes and months can be overridden:
``python -m benchmarks.bench_linkage --residents 20000 100000 --months 12``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import psutil

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from jigsaw import database
from linkage.evaluation import score
from linkage.linker import link_records
from linkage.pipeline import read_person_records, run_person_linkage


class PeakMemory:
    """Peak resident memory of this process while the block runs (DuckDB's native memory
    included, which tracemalloc would miss), sampled every 20 ms."""

    def __enter__(self) -> PeakMemory:
        self._process = psutil.Process()
        self.baseline = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def mib(self) -> float:
        return self.peak / 2**20


def demo_region_database(residents: int, months: int, folder: Path) -> tuple[str, pd.DataFrame]:
    """A throwaway database holding the demo region's deliveries; and its truth by token."""
    from ingestion.demo_region.config import RegionConfig
    from ingestion.demo_region.generate import generate_region
    from ingestion.folder_load import load_landing

    url = database.with_database(database.test_server_url(), f"jigsaw_bench_{uuid.uuid4().hex[:8]}")
    database.ensure_database(url)
    started = time.perf_counter()
    generate_region(
        RegionConfig(residents=residents, months=months),
        landing=folder / "landing",
        truth=folder / "truth",
    )
    generated = time.perf_counter()
    logging.disable(logging.ERROR)  # the region's planted corrupt files are expected
    load_landing(url, folder / "landing")
    logging.disable(logging.NOTSET)
    print(
        f"  demo region: generated in {generated - started:.0f} s, "
        f"loaded in {time.perf_counter() - generated:.0f} s"
    )
    with database.connect(url) as conn:
        refs = pd.DataFrame(
            conn.execute(
                "select distinct body, person_ref_token, person_ref from identity.person_records"
            ).fetchall(),
            columns=["source", "record_id", "person_ref"],
        )
    truth = pd.read_csv(folder / "truth" / "person_records.csv", dtype=str)
    truth = truth.rename(columns={"body": "source"}).merge(refs, on=["source", "person_ref"])
    return url, truth[["source", "record_id", "person_id"]]


def measure(residents: int, months: int, backends: list[str]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_linkage_") as folder:
        url, truth = demo_region_database(residents, months, Path(folder))
        try:
            with database.connect(url) as conn:
                records = read_person_records(conn)
                delivered = conn.execute("select count(*) from identity.person_records").fetchone()[
                    0
                ]
            for backend in backends:
                with PeakMemory() as memory:
                    started = time.perf_counter()
                    result = link_records(records, backend=backend, database_url=url)
                    seconds = time.perf_counter() - started
                accuracy = score(result.clusters(), truth)
                rows.append(
                    dict(
                        residents=residents,
                        backend=backend,
                        rows=delivered,
                        records=len(records),
                        pairs=result.stats["pairs_compared"],
                        seconds=round(seconds, 1),
                        peak_mib=round(memory.mib),
                        precision=accuracy["precision"],
                        recall=accuracy["recall"],
                        f1=accuracy["f1"],
                        review=result.stats["review_pairs"],
                    )
                )
                print(f"  {rows[-1]}")
            with PeakMemory() as memory:
                started = time.perf_counter()
                run_person_linkage(url)
                rows.append(
                    dict(
                        residents=residents,
                        backend="duckdb (full run: read, link, keys, write)",
                        records=len(records),
                        seconds=round(time.perf_counter() - started, 1),
                        peak_mib=round(memory.mib),
                    )
                )
                print(f"  {rows[-1]}")
        finally:
            database.drop_database(url)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument(
        "--postgres-up-to",
        type=int,
        default=20_000,
        help="also time splink's PostgreSQL backend for regions up to this many residents",
    )
    # `python -m benchmarks` calls main() with its own argv in sys.argv: use defaults there.
    args = parser.parse_args(argv or [])
    os.environ.setdefault(KEY_VARIABLE, DEMO_KEY)
    logging.getLogger("splink").setLevel(logging.ERROR)
    rows = []
    for residents in args.residents:
        print(f"linkage benchmark: {residents:,} residents, {args.months} months")
        backends = ["duckdb"] + (["postgres"] if residents <= args.postgres_up_to else [])
        rows += measure(residents, args.months, backends)
    print()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
