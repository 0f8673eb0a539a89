"""The Dagster UI as ``make ui`` serves it after ``make demo`` (``python -m orchestration.cli ui``:
``dagster dev``'s webserver, daemon and code server, with the settings it settles itself), on a
small demo region loaded as the demo loads it, in a database of its own:

- a delivery landed after the demo is loaded by the body's sensor in the daemon, with the demo
  key the UI takes from the demo's database (the shell has no key set);
- the whole ``regional_build`` launched through the webserver's GraphQL
  ``launchPipelineExecution`` (the call behind the Launchpad's Launch button): the instance's
  run queue (the daemon dequeues it), its run launcher (``DefaultRunLauncher``: a run worker
  process of its own) and the job's multiprocess executor (one process per step). Every step
  must succeed: linkage, dbt, the Soda gates and publishing, ~70 steps.

The run's duration is printed (``-s`` shows it); how long it may take is not asserted here.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from ingestion.demo_region import RegionConfig, generate_region
from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE, Pseudonymiser
from ingestion.spec import load_specs
from jigsaw import database
from orchestration.cli import settings
from tests.browser.ui_region import dagster_ui

# Loading the region, the sensor's run and the build: well over the suite's default timeout on
# a loaded machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60 * 60)]

# The end-to-end test's region (tests/e2e/test_demo_pipeline.py): small enough to build in
# minutes on two cores, big enough for every raw gate's row counts (400 residents are not).
CONFIG = RegionConfig(residents=2000, seed=11, months=6)
RUN_TIMEOUT_SECONDS = 30 * 60
SENSOR_TIMEOUT_SECONDS = 10 * 60
# Ports for the webserver, e.g. "3120-3129" where several test sessions share a machine.
PORTS_VARIABLE = "JIGSAW_TEST_UI_PORTS"

LOCATIONS = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { name } }
  ... on PythonError { message } } } } } }
"""
LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}
"""
STATUS = """
query Status($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }
"""
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def make_ui_command(host: str, port: int) -> list[str]:
    """What ``make ui`` runs."""
    return [sys.executable, "-m", "orchestration.cli", "ui", "--host", host, "--port", str(port)]


def _ports() -> range | None:
    wanted = os.environ.get(PORTS_VARIABLE)
    if not wanted:
        return None
    first, last = (int(p) for p in wanted.split("-"))
    return range(first, last + 1)


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.load(response)
    assert not body.get("errors"), body["errors"]
    return body["data"]


@pytest.fixture(scope="module")
def region(server_url, tmp_path_factory):
    """The demo region's deliveries, loaded through the ingestion jobs (in process, as
    ``make demo`` loads them, with the settings it settles), in a database and Dagster home of
    its own; then one more police delivery landed, for the UI's sensor to find."""
    from orchestration.cli.landing_runs import materialize_landing
    from quality.roles import ensure_roles

    url = database.with_database(server_url, f"jigsaw_uibuild_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    root = tmp_path_factory.mktemp("ui_build")
    environment = {
        "JIGSAW_DATABASE_URL": url,
        "DAGSTER_HOME": str(root / "dagster_home"),
        "JIGSAW_LANDING_DIR": str(root / "landing"),
        "JIGSAW_GROUND_TRUTH_DIR": str(root / "truth"),
        "JIGSAW_REPORTS_DIR": str(root / "reports"),
        "JIGSAW_STATE_DIR": str(root / "state"),
    }
    saved = dict(os.environ)
    os.environ.update(environment)
    os.environ.pop(KEY_VARIABLE, None)
    try:
        settings.prepare_environment(demo=True, announce=False)  # make demo's first stage
        assert os.environ[KEY_VARIABLE] == DEMO_KEY
        generate_region(CONFIG, root / "landing", root / "truth")
        with database.connect(url) as conn:
            ensure_roles(conn, database.parse_url(url).dbname)
        with dg.DagsterInstance.get() as instance:
            loaded = materialize_landing(instance)
        assert loaded.all_succeeded, loaded
        late = land_late_police_delivery(root / "landing")
        yield url, environment, root, late  # no key: `make ui` settles it from the database
    finally:
        os.environ.clear()
        os.environ.update(saved)
        database.drop_database(url)


def _next_month(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def land_late_police_delivery(landing: Path) -> tuple[str, set[str]]:
    """The region's last police delivery again as the next month's, as the force would send
    it: the same people, incidents a month later. Returns the period and its nominal ids."""
    latest = max(landing.glob("police/*/incidents_*.csv"), key=lambda f: f.stem)
    period = _next_month(latest.stem.rsplit("_", 1)[1])
    with latest.open(newline="") as source:
        rows = list(csv.DictReader(source))
    for row in rows:
        stamp = row["INCIDENT_DATETIME"]  # dd/mm/yyyy HH:MM; a day every month has
        day = min(int(stamp[:2]), 28)
        row["INCIDENT_DATETIME"] = f"{day:02d}/{period[5:]}/{period[:4]}{stamp[10:]}"
        row["INCIDENT_NO"] = f"{row['INCIDENT_NO']}L"
    folder = landing / "police" / f"{_next_month(period)}-03"
    folder.mkdir(parents=True)
    with (folder / f"incidents_{period}.csv").open("w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return period, {row["NOMINAL_ID"] for row in rows}


def _sensor_run(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    runs = instance.get_runs(
        dg.RunsFilter(
            job_name="police__ingestion",
            tags={"dagster/sensor_name": "police__deliveries_sensor"},
        )
    )
    return runs[0] if runs else None


def _wait_for_sensor_run(home: str) -> dg.DagsterRun:
    """The run the police sensor requests for the late delivery, once it has finished."""
    deadline = time.monotonic() + SENSOR_TIMEOUT_SECONDS
    os.environ["DAGSTER_HOME"] = home
    while True:
        with dg.DagsterInstance.get() as instance:
            run = _sensor_run(instance)
        if run is not None and run.status.value in FINISHED:
            return run
        assert time.monotonic() < deadline, f"no finished sensor run: {run}"
        time.sleep(5)


def test_the_ui_loads_a_late_delivery_and_builds_the_region(region):
    url, environment, root, (late_period, late_nominals) = region
    with dagster_ui(environment, root / "make-ui.log", _ports(), make_ui_command) as ui:
        loaded_by_sensor = _wait_for_sensor_run(environment["DAGSTER_HOME"])
        assert loaded_by_sensor.status.value == "SUCCESS", (root / "make-ui.log").read_text()[
            -3000:
        ]
        [location] = graphql(ui, LOCATIONS)["workspaceOrError"]["locationEntries"]
        loaded = location["locationOrLoadError"]
        assert loaded["__typename"] == "RepositoryLocation", loaded
        [repository] = loaded["repositories"]
        launched = graphql(
            ui,
            LAUNCH,
            {
                "executionParams": {
                    "selector": {
                        "repositoryLocationName": location["name"],
                        "repositoryName": repository["name"],
                        "jobName": "regional_build",
                    },
                    "runConfigData": {},
                    "mode": "default",
                    "executionMetadata": {"tags": [{"key": "jigsaw/test", "value": "ui_build"}]},
                }
            },
        )["launchPipelineExecution"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        started = time.monotonic()
        status = None
        while time.monotonic() - started < RUN_TIMEOUT_SECONDS:
            status = graphql(ui, STATUS, {"runId": run_id})["runOrError"]["status"]
            if status in FINISHED:
                break
            time.sleep(5)
        seconds = time.monotonic() - started
        print(f"regional_build launched from the UI: {status} in {seconds:.0f} s")

    # The sensor's load used the demo key, settled by `make ui` from the demo's database.
    police = next(spec for spec in load_specs() if spec.body == "police")
    incidents = police.entities_by_name["incidents"]
    [nominal] = [column for column in incidents.columns if column.name == "nominal_id"]
    token = Pseudonymiser(DEMO_KEY.encode()).tokeniser(incidents.token_domain("police", nominal))
    with psycopg.connect(url) as conn:
        status_of_late = conn.execute(
            "select status from ingestion.deliveries where body = 'police' and period = %s",
            (late_period,),
        ).fetchall()
        tokens = {
            row[0]
            for row in conn.execute(
                sql.SQL("select {} from raw_police.incidents where _period = %s").format(
                    sql.Identifier(nominal.raw_name)
                ),
                (late_period,),
            )
        }
    assert status_of_late == [("loaded",)]
    assert tokens == {token(n) for n in late_nominals}

    os.environ["DAGSTER_HOME"] = environment["DAGSTER_HOME"]
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_launcher).__name__ == "DefaultRunLauncher"
        records = instance.get_records_for_run(run_id, limit=100_000).records
        events = [r.event_log_entry for r in records]
        failures = [
            f"{e.step_key}: {e.dagster_event.event_specific_data.error.message.strip()[:2000]}"
            for e in events
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"
        ]
        assert status == "SUCCESS", failures or [e.user_message for e in events[-20:]]
        kind = dg.DagsterEventType
        by_type: dict[dg.DagsterEventType, list] = {}
        for entry in events:
            if entry.dagster_event:
                by_type.setdefault(entry.dagster_event.event_type, []).append(entry)
        steps = {e.step_key for e in by_type[kind.STEP_START]}
        succeeded = {e.step_key for e in by_type[kind.STEP_SUCCESS]}
        # Every step of the whole job ran and succeeded, none skipped.
        run = instance.get_run_by_id(run_id)
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        assert run.asset_selection is None  # the whole job, not a subset
        assert len(plan.step_keys_to_execute) >= 50
        assert steps == succeeded == set(plan.step_keys_to_execute)
        assert kind.STEP_SKIPPED not in by_type
        # The multiprocess executor: each step in a process of its own, none in the run
        # worker's (the process that launched them).
        [run_start] = by_type[kind.RUN_START]
        step_pids = {e.dagster_event.pid for e in by_type[kind.STEP_START]}
        assert len(step_pids) == len(steps)
        assert run_start.dagster_event.pid not in step_pids
        assert any("multiprocess" in (e.user_message or "").lower() for e in events)

    with psycopg.connect(url) as conn:
        marts = [
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            )
        ]
        assert len(marts) >= 4, marts
        for mart in marts:
            count = conn.execute(
                sql.SQL("select count(*) from marts.{}").format(sql.Identifier(mart))
            ).fetchone()[0]
            assert count > 0, f"marts.{mart} is empty"
