"""The daemon relaunches a failed run of a job tagged for run retries
(orchestration/instance.py), and the project's load and regional jobs carry those tags.

A real ``dagster-daemon run`` against a DAGSTER_HOME configured by ``write_instance_config``,
over a code location of the test's own (tests/orchestration/retry_location.py): its sensors
launch a job with the project's retry tags that fails once and a job without them that always
fails. The daemon must launch a retry of the first (tagged with its parent run and retry
number) that succeeds, and leave the second alone (the instance retries untagged jobs 0 times).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from ingestion.spec import load_specs
from orchestration.factories.ingestion_assets import job_name
from orchestration.instance import RUN_RETRY_TAGS, write_instance_config
from tests.orchestration import retry_location

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 480  # generous: the whole suite may be running beside it
# After the retry succeeded: time for the daemon to have acted on the untagged failure too.
SETTLE_SECONDS = 15


def _runs_of(instance: dg.DagsterInstance, job: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(job_name=job)))


def _stop(daemon: subprocess.Popen) -> None:
    """Stop the daemon and the code server and runs it started (its own process group)."""
    if daemon.poll() is None:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)


def test_the_body_loads_and_the_regional_build_carry_the_retry_tags():
    from orchestration.definitions import defs

    jobs = [job_name(spec) for spec in load_specs()] + ["regional_build"]
    untagged = [
        name
        for name in jobs
        if not RUN_RETRY_TAGS.items() <= defs.resolve_job_def(name).tags.items()
    ]
    assert untagged == []


@pytest.mark.e2e
def test_the_daemon_retries_a_failed_run_of_a_tagged_job(tmp_path):
    home = tmp_path / "dagster_home"
    write_instance_config(home)
    flag = tmp_path / "first_attempt_failed"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        retry_location.FLAG_VARIABLE: str(flag),
    }
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-daemon"),
            "run",
            "--python-file",
            str(Path(retry_location.__file__)),
            "--working-directory",
            str(REPO_ROOT),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so the test stops all it started
    )
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + TIMEOUT_SECONDS
            retried = None
            while time.monotonic() < deadline and daemon.poll() is None:
                retried = next(
                    (
                        r
                        for r in _runs_of(instance, retry_location.TAGGED_JOB)
                        if r.tags.get("dagster/retry_number") == "1"
                        and r.status == dg.DagsterRunStatus.SUCCESS
                    ),
                    None,
                )
                untagged = _runs_of(instance, retry_location.UNTAGGED_JOB)
                if retried and any(r.status == dg.DagsterRunStatus.FAILURE for r in untagged):
                    break
                time.sleep(2)
            daemon_log = (tmp_path / "daemon.log").read_text()[-3000:]
            assert retried is not None, (
                f"no successful retry within {TIMEOUT_SECONDS} s\n{daemon_log}"
            )
            time.sleep(SETTLE_SECONDS)
            tagged = _runs_of(instance, retry_location.TAGGED_JOB)
            untagged = _runs_of(instance, retry_location.UNTAGGED_JOB)
    finally:
        _stop(daemon)
        log.close()

    [first] = [r for r in tagged if "dagster/retry_number" not in r.tags]
    assert first.status == dg.DagsterRunStatus.FAILURE
    assert first.tags.get("dagster/sensor_name") == f"{retry_location.TAGGED_JOB}_sensor"
    assert retried.tags["dagster/parent_run_id"] == first.run_id
    assert retried.tags["dagster/root_run_id"] == first.run_id
    assert len(tagged) == 2  # one retry was enough: no more launched after it succeeded
    assert flag.read_text() == "first attempt failed\n"
    assert [r.status for r in untagged] == [dg.DagsterRunStatus.FAILURE]
