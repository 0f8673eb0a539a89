"""Load everything in the landing folder through Dagster, one run per body: ``materialize_landing``.

The demo's loading stage, and the tests and tools that want the loads recorded as Dagster runs
(materialisations, the raw gates, the UI's history). The runs are the ingestion assets' own
(orchestration/factories/ingestion_assets.py), whose body is ``ingestion.folder_load``'s, so a
folder loaded here and one loaded without Dagster (``python -m ingestion load``) go through the
same code. It lives with the command line, not the factories: it launches runs of the assembled
code location (``orchestration.definitions``), which the factories must not import.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from ingestion.landing import find_deliveries
from ingestion.pseudonymise import Pseudonymiser
from ingestion.spec import SourceSpec
from jigsaw.database import environment_restored, export_connection_env
from jigsaw.paths import landing_dir as default_landing_dir
from orchestration.attribution import launch_tags
from orchestration.factories.ingestion_assets import build_ingestion_defs, job_name, partitions_name

log = logging.getLogger(__name__)

DB_FIELDS = ("HOST", "PORT", "USER", "PASSWORD", "NAME")


@dataclass
class LandingRunSummary:
    """What ``materialize_landing`` did: one Dagster run per body with deliveries."""

    runs: dict[str, str] = field(default_factory=dict)  # body -> run id
    periods: dict[str, list[str]] = field(default_factory=dict)
    succeeded: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def all_succeeded(self) -> bool:
        return all(self.succeeded.values())


@contextmanager
def _run_environment(database_url: str | None, landing_dir: Path | None) -> Iterator[None]:
    """JIGSAW_DATABASE_URL (and JIGSAW_DB_*) and JIGSAW_LANDING_DIR for the runs' duration.

    The project's jobs come with the one ``database`` resource bound (``DATABASE``, which reads
    the environment when a step sets it up), so a URL given here reaches the loads and the Soda
    gates that way, not as a second ``database`` resource.
    """
    names = ["JIGSAW_DATABASE_URL", *(f"JIGSAW_DB_{n}" for n in DB_FIELDS), "JIGSAW_LANDING_DIR"]
    with environment_restored(names):
        if database_url:
            export_connection_env(database_url)
        if landing_dir is not None:
            os.environ["JIGSAW_LANDING_DIR"] = str(Path(landing_dir).resolve())
        yield


def _project_definitions() -> dg.Definitions:
    """The whole code location (ingestion, Soda gates, dbt, linkage), imported only when a run
    wants it: loading it reads every spec and the dbt manifest, which runs over given specs do
    not need."""
    from orchestration.definitions import defs

    return defs


def materialize_landing(
    instance: dg.DagsterInstance,
    specs: list[SourceSpec] | None = None,
    landing_dir: Path | None = None,
    database_url: str | None = None,
    run_config: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> LandingRunSummary:
    """Register every landed period as a partition and load them all, one run per body.

    Each run covers the body's whole partition range (the assets load many periods in one
    run); rejected files are recorded and reported, not fatal. ``database_url`` defaults to
    JIGSAW_DATABASE_URL. ``progress`` (the demo's console) is told "body 3 of 10: ..." as each
    body's run starts and ends.

    Without ``specs`` (the demo), each run is the body's ``<body>__ingestion`` job from the
    project's merged definitions, so the raw Soda gates (blocking ``soda_raw_contract``
    checks) run with the loads. With ``specs`` (tests, a body not yet in the project), the
    jobs come from those specs' ingestion definitions alone: loads and
    ``deliveries_accepted`` only.
    """
    from ingestion.spec import load_specs

    started = time.perf_counter()
    project = specs is None
    specs = load_specs() if specs is None else specs
    Pseudonymiser()  # fail before any run when there is no key
    root = landing_dir or default_landing_dir()
    summary = LandingRunSummary()
    periods_by_body: dict[str, set[str]] = defaultdict(set)
    for delivery in find_deliveries(root, specs):
        periods_by_body[delivery.body].add(delivery.period)
    with _run_environment(database_url, root):
        defs = _project_definitions() if project else build_ingestion_defs(specs, root)
        with_deliveries = [spec for spec in specs if periods_by_body.get(spec.body)]
        for number, spec in enumerate(with_deliveries, start=1):
            periods = sorted(periods_by_body[spec.body])
            body_started = time.perf_counter()
            step = f"body {number} of {len(with_deliveries)}: {spec.body}"
            if progress:
                progress(f"{step} ({len(periods)} periods, {periods[0]} to {periods[-1]})")
            name = partitions_name(spec)
            existing = instance.get_dynamic_partitions(name)
            missing = [p for p in periods if p not in existing]
            if missing:
                instance.add_dynamic_partitions(name, missing)
            ordered = instance.get_dynamic_partitions(name)
            positions = sorted(ordered.index(p) for p in periods)
            tags = {
                "dagster/asset_partition_range_start": ordered[positions[0]],
                "dagster/asset_partition_range_end": ordered[positions[-1]],
                "jigsaw/trigger": "materialize_landing",
                **launch_tags("materialize_landing"),
            }
            result = defs.resolve_job_def(job_name(spec)).execute_in_process(
                instance=instance, tags=tags, raise_on_error=False, run_config=run_config
            )
            summary.runs[spec.body] = result.run_id
            summary.periods[spec.body] = periods
            summary.succeeded[spec.body] = result.success
            if not result.success:
                log.error("ingestion run for %s failed (run %s)", spec.body, result.run_id)
            if progress:
                outcome = "loaded" if result.success else "FAILED (see the run in the UI)"
                progress(f"{step}: {outcome} in {time.perf_counter() - body_started:.0f} s")
    summary.seconds = time.perf_counter() - started
    return summary
