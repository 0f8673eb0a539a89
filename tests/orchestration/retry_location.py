"""A code location for the run-retry test (tests/orchestration/test_run_retries.py).

Two jobs launched once each by a sensor, as each body's sensor launches its loads: one carries
the project's run-retry tags (``orchestration.instance.RUN_RETRY_TAGS``) and fails its first attempt
(as a load does when the database is unreachable), the other has no tags and always fails.
The flag file that tells a first attempt from a retry is named by an environment variable the
test sets for the daemon, whose runs inherit it.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration.instance import RUN_RETRY_TAGS

FLAG_VARIABLE = "JIGSAW_TEST_RETRY_FLAG"
TAGGED_JOB = "flaky_load"
UNTAGGED_JOB = "failing_untagged"


@dg.op
def load_once_the_database_is_back() -> None:
    flag = Path(os.environ[FLAG_VARIABLE])
    if not flag.exists():
        flag.write_text("first attempt failed\n")
        raise RuntimeError("connection refused: the database is unreachable (first attempt)")


@dg.op
def always_fail() -> None:
    raise RuntimeError("this job has no retry tags: the instance retries it 0 times")


@dg.job(name=TAGGED_JOB, tags=RUN_RETRY_TAGS)
def flaky_load() -> None:
    load_once_the_database_is_back()


@dg.job(name=UNTAGGED_JOB)
def failing_untagged() -> None:
    always_fail()


def _launch_once(job: dg.JobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{job.name}_sensor",
        job=job,
        minimum_interval_seconds=1,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor() -> dg.RunRequest:
        return dg.RunRequest(run_key="once")  # a run key is launched once

    return _sensor


defs = dg.Definitions(
    jobs=[flaky_load, failing_untagged],
    sensors=[_launch_once(flaky_load), _launch_once(failing_untagged)],
)
