"""``regional_build`` under Dagster's multiprocess executor (one process per step), as the
nightly schedule and the UI run it, on a small loaded region in its own database.

The linkage part of the build is run (the steps that deadlocked); the rest of the job is some 70
dbt and Soda steps that each take their own process too, which would cost many minutes here.
"""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from jigsaw.database import export_connection_env
from orchestration.defs import linkage as linkage_defs
from orchestration.executor import STEP_EXECUTOR
from orchestration.instance import write_instance_config
from tests.linkage.synthetic import generate, write_gazetteer, write_identity

pytestmark = pytest.mark.e2e

# The steps that write the linkage tables (evaluation only reads them).
LINKAGE_STEPS = [linkage_defs.LINKAGE_SCHEMA, linkage_defs.PERSON_XREF, linkage_defs.ADDRESS_XREF]


def _regional_build() -> dg.JobDefinition:
    from orchestration.definitions import defs

    return defs.resolve_job_def("regional_build")


def test_regional_build_linkage_runs_under_the_multiprocess_executor(
    fresh_database_url, tmp_path, monkeypatch
):
    url = fresh_database_url
    region = generate(300, seed=4)
    write_identity(url, region.records)
    write_gazetteer(url, region.gazetteer)
    home = tmp_path / "dagster_home"
    write_instance_config(home)  # the project's dagster.yaml: pools of one slot, run retries
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("JIGSAW_DATABASE_URL", url)
    export_connection_env(url)
    job = dg.reconstructable(_regional_build)
    with dg.DagsterInstance.get() as instance:
        assert job.get_definition().executor_def is STEP_EXECUTOR
        with dg.execute_job(job, instance, asset_selection=LINKAGE_STEPS) as result:
            assert result.success, [
                e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"
            ]
            started = [e for e in result.all_events if e.event_type_value == "STEP_START"]
            # one process per step: the multiprocess executor, not the in-process one
            assert len({e.pid for e in started}) == len(LINKAGE_STEPS)
    with psycopg.connect(url) as conn:
        xref = conn.execute("select count(*) from linkage.person_xref").fetchone()[0]
        addresses = conn.execute("select count(*) from linkage.address_xref").fetchone()[0]
    assert xref > 0 and addresses > 0
