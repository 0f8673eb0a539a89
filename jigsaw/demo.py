"""`make demo`: the demo region end to end, then a short summary.

1. generate the synthetic region's deliveries (skipped when the same configuration is there);
2. create the roles and grants;
3. load every delivery through the ingestion assets (Dagster, one run per body);
4. run the regional build (linkage, dbt, Soda gates, publishing) through Dagster;
5. print what was materialised, which checks passed and failed, and what was published.

Runs are recorded in DAGSTER_HOME, so the Dagster UI (`make ui`) shows them afterwards.
Running it twice is safe: deliveries already loaded are skipped by the ledger.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from jigsaw import database
from jigsaw.attribution import launch_tags
from jigsaw.paths import ground_truth_dir, landing_dir

# The console shows progress, not every Dagster event; the UI keeps the full event log.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def generate_region_once(config) -> None:
    """Generate the region unless the same configuration was generated last time."""
    from ingestion.demo_region import generate_region

    marker = ground_truth_dir() / "region_config.json"
    wanted = json.dumps(asdict(config), sort_keys=True, default=str)
    if marker.exists() and marker.read_text() == wanted and any(landing_dir().glob("*/*/*")):
        print(f"jigsaw: demo region ({config.residents} residents, seed {config.seed}) is there")
        return
    started = time.perf_counter()
    generate_region(config, landing_dir(), ground_truth_dir())
    marker.write_text(wanted)
    print(f"jigsaw: demo region generated in {time.perf_counter() - started:.0f} s")


def run_demo(
    residents: int | None = None,
    seed: int | None = None,
    months: int | None = None,
    config=None,
) -> int:
    """Returns the exit status; ``config`` (a RegionConfig) overrides the three numbers."""
    import dagster as dg

    from ingestion.demo_region import RegionConfig

    if not os.environ.get(KEY_VARIABLE):
        os.environ[KEY_VARIABLE] = DEMO_KEY
        print(f"jigsaw: using the documented demo pseudonymisation key ({KEY_VARIABLE} unset)")
    url = database.resolve_database_url()
    started = time.perf_counter()

    generate_region_once(
        config or RegionConfig.from_env(residents=residents, seed=seed, months=months)
    )

    from quality.roles import ensure_roles

    with database.connect(url) as conn:
        ensure_roles(conn, database.parse_url(url).dbname)

    from orchestration.definitions import defs
    from orchestration.factories.ingestion_assets import materialize_landing

    instance = dg.DagsterInstance.get()
    print("jigsaw: loading deliveries (ingestion assets, one run per body)", flush=True)
    ingestion_summary = materialize_landing(instance, run_config=QUIET_CONSOLE)

    print("jigsaw: regional build (linkage, dbt, quality gates, publishing)", flush=True)
    job = defs.resolve_job_def("regional_build")
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config=QUIET_CONSOLE,
        tags=launch_tags("make demo"),
    )

    from jigsaw.demo_summary import print_summary

    return print_summary(url, ingestion_summary, result, time.perf_counter() - started)
