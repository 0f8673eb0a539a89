"""Console progress for `make demo`: numbered stages with their elapsed time, and a heartbeat
while a long Dagster run works (steps finished so far), so the console is never silent and
never floods; the full event log stays in the Dagster UI."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

HEARTBEAT_SECONDS = 15.0


def say(message: str) -> None:
    # The real stdout: a stage may send the tools' own output to a log file meanwhile.
    print(f"jigsaw: {message}", file=sys.__stdout__, flush=True)


@contextmanager
def tools_output_to(log: Path) -> Iterator[None]:
    """Sends what the tools print on stdout (dbt's line per model and test, streamed by
    dagster-dbt) to ``log`` for the block; progress lines and Dagster's warnings and errors
    (stderr) stay on the console."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle, contextlib.redirect_stdout(handle):
        yield


class Stages:
    """``[2/5] name ... done in 12 s`` for each stage of a command."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.number = 0
        self.started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.number += 1
        say(f"[{self.number}/{self.total}] {name}")
        started = time.perf_counter()
        yield
        say(f"[{self.number}/{self.total}] {name}: done in {elapsed(started)}")

    def total_elapsed(self) -> str:
        return elapsed(self.started)


def elapsed(started: float) -> str:
    seconds = time.perf_counter() - started
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def steps_done(instance: dg.DagsterInstance, run_id: str) -> tuple[int, int]:
    """(steps succeeded, steps failed) so far in a run."""
    counts = []
    for kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
        counts.append(len(instance.get_records_for_run(run_id, of_type=kind, limit=10000).records))
    return counts[0], counts[1]


@contextmanager
def heartbeat(
    instance: dg.DagsterInstance, run_id: str, label: str, every: float = HEARTBEAT_SECONDS
) -> Iterator[None]:
    """Prints ``label: N steps done (M failed), 45 s`` every ``every`` seconds while the block
    runs a Dagster run with id ``run_id``."""
    stop = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not stop.wait(every):
            try:
                done, failed = steps_done(instance, run_id)
            except Exception:  # the run may not be stored yet; try again at the next beat
                continue
            failures = f" ({failed} failed)" if failed else ""
            say(f"  {label}: {done} steps done{failures}, {elapsed(started)}")

    thread = threading.Thread(target=beat, name="jigsaw-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
