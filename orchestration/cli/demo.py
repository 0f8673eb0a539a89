"""`make demo`: the demo region end to end, then a short summary.

1. settle the settings `make ui` will use too (orchestration/cli/settings.py);
2. generate the synthetic region's deliveries (skipped when the same configuration is there);
3. create the roles and grants;
4. load every delivery through the ingestion assets (Dagster, one run per body);
5. run the regional build (linkage, dbt, Soda gates, publishing, analytics) through Dagster;
6. grade the linkage and the analytics against the region's ground truth (the demo_evaluation
   job);
then print what was materialised, which checks passed and failed, and what was published.
Each stage is numbered and timed on the console (orchestration/cli/progress.py).

Runs are recorded in DAGSTER_HOME, so the Dagster UI (`make ui`) shows them afterwards.
Running it twice is safe: deliveries already loaded are skipped by the ledger.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict

from jigsaw import database
from jigsaw.paths import ground_truth_dir, landing_dir, state_dir
from orchestration.attribution import launch_tags
from orchestration.cli.progress import Stages, heartbeat, say, tools_output_to
from orchestration.cli.settings import DemoKeyRefused, prepare_environment

# The console shows numbered stages and a heartbeat (orchestration/cli/progress.py), plus Dagster's
# warnings and errors (a rejected file, a failed gate); the UI keeps the full event log.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def generate_region_once(config) -> None:
    """Generate the region unless the same configuration was generated last time."""
    from ingestion.demo_region import generate_region

    marker = ground_truth_dir() / "region_config.json"
    wanted = json.dumps(asdict(config), sort_keys=True, default=str)
    if marker.exists() and marker.read_text() == wanted and any(landing_dir().glob("*/*/*")):
        say(f"  demo region ({config.residents} residents, seed {config.seed}) is already there")
        return
    started = time.perf_counter()
    generate_region(config, landing_dir(), ground_truth_dir())
    marker.write_text(wanted)
    seconds = time.perf_counter() - started
    say(f"  demo region generated: {config.residents} residents in {seconds:.0f} s")


def run_demo(
    residents: int | None = None,
    seed: int | None = None,
    months: int | None = None,
    config=None,
    stages: Stages | None = None,
) -> int:
    """Returns the exit status; ``config`` (a RegionConfig) overrides the three numbers;
    ``stages`` (the scaling benchmark's, which also measures each stage) numbers and times the
    stages."""
    import dagster as dg

    from ingestion.demo_region import RegionConfig

    stages = stages or Stages(total=6)
    with stages.stage("settings: database, DAGSTER_HOME, pseudonymisation key"):
        # The same settling `make ui` does; here the demo key is used when none is set, on a
        # database the demo owns only.
        try:
            url = prepare_environment(demo=True)
        except DemoKeyRefused as refused:
            say(str(refused))
            return 2

    with stages.stage("demo region: each body's deliveries in the landing folder"):
        generate_region_once(
            config or RegionConfig.from_env(residents=residents, seed=seed, months=months)
        )

    with stages.stage("database roles and grants, the quality tables"):
        from quality.roles import ensure_roles
        from quality.schema import ensure_quality_schema

        with database.connect(url) as conn:
            ensure_roles(conn, database.parse_url(url).dbname)
            ensure_quality_schema(conn)

    from orchestration.cli.landing_runs import materialize_landing
    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get()
    with stages.stage("loading deliveries (ingestion assets and raw gates, one run per body)"):
        ingestion_summary = materialize_landing(
            instance, run_config=QUIET_CONSOLE, progress=lambda line: say(f"  {line}")
        )

    with stages.stage("regional build (linkage, dbt, quality gates, publishing)"):
        run_id = str(uuid.uuid4())
        job = defs.resolve_job_def("regional_build")
        log = state_dir() / "logs" / "regional_build.log"
        say(f"  dbt's own output goes to {log}; the UI has every event")
        with heartbeat(instance, run_id, "regional build"), tools_output_to(log):
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=QUIET_CONSOLE,
                run_id=run_id,
                tags=launch_tags("make demo"),
            )

    with stages.stage("evaluation of the linkage and analytics against the region's ground truth"):
        graded = defs.resolve_job_def("demo_evaluation").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=QUIET_CONSOLE,
            tags=launch_tags("make demo"),
        )
        if not graded.success:
            say("  evaluation FAILED: see the demo_evaluation run in the UI")

    from orchestration.cli.demo_summary import print_summary

    status = print_summary(url, ingestion_summary, result, stages.total_elapsed(), instance)
    return status or (0 if graded.success else 1)
