"""The Dagster instance configuration the project writes into DAGSTER_HOME (dagster.yaml).

- run retries: a load or regional build whose run fails (the database restarted, a worker
  killed) is launched again by the daemon, for the jobs tagged with ``RUN_RETRY_TAGS``;
- concurrency pools: one slot per pool, so steps in the same pool (``linkage``) never run at
  once under the multiprocess executor, whatever launched the run;
- no telemetry.
"""

from __future__ import annotations

from pathlib import Path

# Tags of the jobs whose failed runs are retried: the body loads and the regional build.
RUN_RETRY_TAGS = {"dagster/max_retries": "2", "dagster/retry_strategy": "FROM_FAILURE"}

DAGSTER_YAML = """\
# Written by Jigsaw (orchestration/instance.py); edits are kept unless the file is deleted.
telemetry:
  enabled: false
run_retries:
  enabled: true
  max_retries: 0  # only the jobs tagged dagster/max_retries are retried
concurrency:
  pools:
    default_limit: 1
"""
# What earlier versions wrote; such a file is replaced by the current configuration.
_EARLIER = ("telemetry:\n  enabled: false\n",)


def write_instance_config(home: Path) -> Path:
    """Write dagster.yaml into ``home`` unless someone configured the instance by hand, and
    create the instance's storage (``initialise_storage``)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text() in _EARLIER:
        config.write_text(DAGSTER_YAML)
    initialise_storage(home)
    return config


def initialise_storage(home: Path) -> None:
    """Create the instance's storage (SQLite files under ``home`` by default) now, in one process.

    Otherwise the first processes to open a new home create it together: the daemon and the code
    server it starts (or the webserver) each stamp the schedule database's schema version, and
    with two rows in ``alembic_version`` ("more than one head present") neither can load the
    code location again; the daemon then launches nothing. Opening an existing storage only
    checks its version.
    """
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)):
        pass
