"""Scaling curve: the whole pipeline at several region sizes, each from an empty database.

``python -m benchmarks scale --residents 20000,100000[,1000000]``

For each size, in a process of its own (so its memory is its own), the benchmark runs exactly
what ``make demo`` runs (``orchestration.cli.demo.run_demo``: generate the region, roles, every
body's deliveries through the ingestion assets, the regional build, the evaluation) against a fresh
database, with its own state, landing and ground-truth folders. It prints per stage: seconds,
peak memory of the process tree (this process and every child: dbt, Soda), rows, and the ratio
to the previous size. The regional build is split into linkage, dbt, gates (Soda contracts and
the marts' privacy, disclosure and purpose checks), publishing (the marts' swaps, roles and
grants) and analytics by the Dagster run's own step events.

Then one new monthly police delivery and one home-sensors delivery (each body's latest month
copied as the next, as ``bench_dbt_incremental`` makes it) with ``dbt build --select
source:raw_<body>+`` and the delivery's slice as the run after a delivery passes it
(JIGSAW_SLICE, orchestration.slices), and each one's ratio to the full build: the regional
build's dbt step, which built every model, its unit tests and data tests from an empty database.
Then the next month of each, built the same way by dbt's programmatic runner in the benchmark's
process with the manifest parsed beforehand: what the build costs without starting a ``dbt``
process (import, partial parse, manifest written), as a runner that keeps dbt loaded would
run it; Dagster's runs start the CLI, as the first figure does.
Last, dbt's own floor for each of those selections: the same build with the same slice once
every source is empty, what no slicing of the data can go below (skipped with ``--keep``, as it
empties the database).

Targets (issue 18): at 100k, police <= 10 % and sensors <= 5 % of the full build; at 1M, end to
end under 45 minutes, peak under 8 GB, and no stage growing more than 12x from 100k to 1M.

``--region-cache DIR`` keeps each size's generated region (landing and ground-truth folders)
under DIR, keyed by residents and seed, and reuses it in later runs (the region stage is then the
check, seconds instead of minutes at a million).

``--earlier FILE ...`` takes the sizes of earlier runs from their saved output (the last JSON
line of each) and puts them on the curve beside this run's, each marked with the file it came
from: a million-resident run then shows its growth from 100k without running 20k and 100k again.

It writes a log-log plot of stage seconds against residents (``--plot``, default
docs/images/scaling_curve.png) and ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from jigsaw import database
from jigsaw.paths import REPO_ROOT, dbt_project_dir
from orchestration.cli.progress import Stages

if TYPE_CHECKING:
    from orchestration.slices import DeliverySlice

DEFAULT_SIZES = "20000,100000"
DEFAULT_PLOT = REPO_ROOT / "docs" / "images" / "scaling_curve.png"
# The stages reported, in pipeline order; "other" is settings, roles, Dagster's own time around
# the regional build's steps, and make demo's time outside its stages (loading the definitions,
# the closing summary), so the stages add up to the end-to-end time.
STAGES = (
    "region",
    "ingestion",
    "linkage",
    "dbt",
    "gates",
    "publishing",
    "analytics",
    "evaluation",
    "other",
)
# make demo's stages (orchestration/cli/demo.py), in order, and what each one counts as here.
DEMO_STAGES = ("other", "region", "other", "ingestion", "regional_build", "evaluation")
# Asset groups of the regional build's steps; steps of no asset (checks) are gates.
GROUP_STAGES = {
    "linkage": "linkage",
    "staging": "dbt",
    "intermediate": "dbt",
    "core": "dbt",
    "marts": "dbt",
    "published": "publishing",
    "quality": "publishing",
    "analytics": "analytics",
}
INCREMENTAL_BODIES = {
    "police": "police_incremental_ratio",
    "home_sensors": "sensors_incremental_ratio",
}
SAMPLE_SECONDS = 0.5
# Each size's database is <prefix>_<residents>_<random>; a shared server's users pick their own.
DEFAULT_DATABASE_PREFIX = "jigsaw_bench_scale"


class TreeMemory:
    """Samples the resident memory of this process and all its descendants in a thread."""

    def __init__(self, every: float = SAMPLE_SECONDS) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (perf_counter, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)

    @staticmethod
    def now_mb() -> float:
        root = psutil.Process()
        total = 0
        for process in [root, *root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue  # a child that ended between listing and reading
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.now_mb()))
            self._stop.wait(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peak(self, start: float | None = None, end: float | None = None) -> float:
        samples = list(self.samples)
        chosen = [
            mb for t, mb in samples if (start is None or t >= start) and (end is None or t <= end)
        ]
        if not chosen and samples:  # a span shorter than the sampling interval
            before = [mb for t, mb in samples if end is None or t <= end]
            chosen = before[-1:] or [samples[0][1]]
        return round(max(chosen, default=0.0), 1)


class MeasuredStages(Stages):
    """make demo's numbered stages, remembering when each started and ended."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.spans: list[tuple[str, float, float]] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        with super().stage(name):
            yield
        self.spans.append((name, started, time.perf_counter()))


# --- one size, in its own process --------------------------------------------------------


def _step_stage_map(defs) -> dict[str, str]:
    import dagster as dg

    stages = {}
    for assets in defs.assets or []:
        if isinstance(assets, dg.AssetsDefinition) and assets.is_executable:
            groups = {assets.group_names_by_key[k] for k in assets.keys}
            stage = {GROUP_STAGES.get(g, "other") for g in groups}
            stages[assets.node_def.name] = stage.pop() if len(stage) == 1 else "other"
    return stages


def _regional_steps(instance, defs) -> tuple[list[tuple[str, float, float, str]], str | None]:
    """(stage, start, end, step key) of each step of the latest regional build, as epoch
    seconds."""
    import dagster as dg

    [run] = instance.get_runs(filters=dg.RunsFilter(job_name="regional_build"), limit=1)
    wanted = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    started: dict[str, float] = {}
    steps = []
    stage_of = _step_stage_map(defs)
    for entry in instance.all_logs(run.run_id, of_type=wanted):
        kind = entry.dagster_event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif entry.step_key in started:
            stage = stage_of.get(entry.step_key, "gates")  # a step of no asset is a check
            steps.append((stage, started.pop(entry.step_key), entry.timestamp, entry.step_key))
    return steps, run.run_id


def slowest_dbt_models(instance, run_id: str, top: int = 8) -> dict[str, float]:
    """Seconds of the slowest dbt models in the run (dagster-dbt's "Execution Duration")."""
    import dagster as dg

    durations = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.dagster_event.event_specific_data.materialization
        seconds = materialization.metadata.get("Execution Duration")
        if seconds is not None:
            durations[materialization.asset_key.to_user_string()] = round(float(seconds.value), 1)
    return dict(sorted(durations.items(), key=lambda item: -item[1])[:top])


def _count(conn, query: str, *params) -> int:
    return int(conn.execute(query, params).fetchone()[0] or 0)


def _rows_in_schemas(conn, schemas: list[str]) -> int:
    from psycopg import sql

    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema = any(%s) and table_type = 'BASE TABLE'",
        (schemas,),
    ).fetchall()
    return sum(
        _count(conn, sql.SQL("select count(*) from {}").format(sql.Identifier(s, t)).as_string())
        for s, t in tables
    )


def _stage_rows(url: str, run_id: str | None) -> dict[str, int | None]:
    with database.connect(url) as conn:
        delivered = _count(conn, "select sum(rows_delivered) from ingestion.deliveries")
        return {
            "region": delivered,
            "ingestion": _count(
                conn, "select sum(rows_loaded + rows_quarantined) from ingestion.deliveries"
            ),
            "linkage": _rows_in_schemas(conn, ["linkage"]),
            "dbt": _rows_in_schemas(conn, ["intermediate", "core", "marts_build"]),
            "gates": _count(
                conn, "select count(*) from quality.check_results where run_id = %s", run_id
            ),
            "publishing": _rows_in_schemas(conn, ["marts"]),
            "analytics": _rows_in_schemas(conn, ["analytics"]),
            "evaluation": None,
            "other": None,
        }


def _delivered_period(url: str, body: str, table: str, delivery: str) -> tuple[str, str, str]:
    """(body, entity, period) of a simulated delivery, as the ledger would name its slice."""
    from psycopg import sql

    from ingestion.raw_tables import lineage_view

    schema, entity = table.split(".")
    with database.connect(url) as conn:
        [period] = conn.execute(
            sql.SQL("select distinct _period from {} where _delivery_id = %s").format(
                sql.Identifier(schema, lineage_view(entity))
            ),
            (delivery,),
        ).fetchone()
    return body, entity, period


def _incremental(url: str, full_dbt_seconds: float, floor: bool = True) -> dict:
    """One new monthly delivery per body and its downstream dbt build with the delivery's slice
    (as the run after a delivery passes it), against the full build."""
    from benchmarks.bench_dbt_incremental import dbt

    figures = {}
    slice_env: dict[str, dict[str, str] | None] = {}
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        # dbt parses partially from the project's own state, as dagster-dbt's runs do.
        parsed = dbt_project_dir() / "target" / "partial_parse.msgpack"
        if parsed.exists():
            shutil.copy(parsed, target / parsed.name)
        for body, name in INCREMENTAL_BODIES.items():
            table, rows, delivery_slice = _new_month(url, body)
            slice_env[body] = delivery_slice.dbt_env() if delivery_slice else None
            seconds, run = dbt(
                target, "build", "--select", f"source:raw_{body}+", env=slice_env[body]
            )
            figures[name] = round(seconds / full_dbt_seconds, 4)
            figures[f"{body}_incremental_seconds"] = round(seconds, 1)
            figures[f"{body}_incremental_rows"] = rows
            figures[f"{body}_incremental_nodes"] = run["nodes"]
            print(
                f"new monthly {body} delivery: {rows} rows into {table}; dbt build of "
                f"source:raw_{body}+ {seconds:.1f} s ({run['nodes']} nodes) = "
                f"{seconds / full_dbt_seconds:.1%} of the full build ({full_dbt_seconds:.1f} s)",
                flush=True,
            )
            print(f"  its slowest nodes: {_slowest_nodes(run['results'])}", flush=True)
        try:
            figures.update(_in_process(url, target, full_dbt_seconds))
        except RuntimeError as exc:  # a comparison only: the figures above stand without it
            print(f"the build by dbt's runner in process not measured: {exc}"[:2000], flush=True)
        if floor:
            figures.update(_floors(url, target, slice_env, full_dbt_seconds))
        else:
            print("dbt's floor not measured: --keep keeps the database as built")
    return figures


def _new_month(url: str, body: str) -> tuple[str, int, DeliverySlice | None]:
    """One new monthly delivery of the body: (its table, its rows, the slice the build after it
    passes (orchestration.slices): the new period; no identity resolution runs here, so no one
    is re-keyed). A delivery a slice cannot rebuild (builds_by_slice) has none, and is built
    without one, as the run does."""
    from benchmarks.bench_dbt_incremental import add_monthly_delivery
    from orchestration.slices import DeliverySlice, builds_by_slice

    table, delivery, rows = add_monthly_delivery(url, body)
    delivery_slice = DeliverySlice((_delivered_period(url, body, table, delivery),), ())
    return table, rows, delivery_slice if builds_by_slice(delivery_slice) else None


def _in_process(url: str, target: Path, full_dbt_seconds: float) -> dict:
    """The same build after one more monthly delivery per body, by dbt's programmatic runner in
    this process with the manifest parsed beforehand: dbt's work without the start of a ``dbt``
    process (its import, partial parse and manifest written), which every build Dagster starts
    pays. What a runner that keeps dbt loaded would give; not the product's path."""
    from benchmarks.bench_dbt_incremental import dbt_in_process, held_manifest

    manifest = held_manifest(target)
    figures = {}
    for body in INCREMENTAL_BODIES:
        _, _, delivery_slice = _new_month(url, body)
        select = f"source:raw_{body}+"
        seconds, nodes = dbt_in_process(
            manifest, target, "build", "--select", select, delivery_slice=delivery_slice
        )
        figures[f"{body}_in_process_seconds"] = round(seconds, 1)
        figures[f"{body}_in_process_ratio"] = round(seconds / full_dbt_seconds, 4)
        print(
            f"the next {body} month, the same build by dbt's runner in this process (manifest "
            f"held, no dbt process started): {seconds:.1f} s ({nodes} nodes) = "
            f"{seconds / full_dbt_seconds:.1%} of the full build",
            flush=True,
        )
    return figures


def _slowest_nodes(results: list[dict], top: int = 6) -> str:
    """The build's slowest nodes and its tests' total, from dbt's run_results."""
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:top]
    shown = ", ".join(
        f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f} s" for r in slowest
    )
    return f"{shown}; {len(tests)} tests {sum(r['execution_time'] for r in tests):.1f} s"


def _floors(
    url: str, target: Path, slice_env: dict[str, dict[str, str] | None], full_dbt_seconds: float
) -> dict:
    """dbt's own floor for each delivery's downstream build: the same build, with the same
    slice, once every source is empty (truncated, then every model rebuilt from nothing, not
    timed): dbt's start, its per-node materialisations and the tests, with no rows to work on.
    No slicing of the data can take a delivery's build below it. It empties this run's own
    database, so it comes last."""
    import psycopg
    from psycopg import sql

    from benchmarks.bench_dbt_incremental import dbt

    # The sources are views over the loaded tables too (lineage views), so every table of the
    # sources' schemas is emptied.
    manifest = json.loads((target / "manifest.json").read_text())
    schemas = sorted({s["schema"] for s in manifest["sources"].values()})
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "select schemaname, tablename from pg_tables where schemaname = any(%s)", (schemas,)
        ).fetchall()
        for schema, name in tables:
            conn.execute(sql.SQL("truncate {} cascade").format(sql.Identifier(schema, name)))
    try:
        dbt(target, "build", "--full-refresh")
    except RuntimeError as exc:  # the floor is then not measured; the rest of the run stands
        print(f"dbt's floor not measured: the build on empty sources failed: {exc}"[:2000])
        return {}
    figures = {}
    for body in INCREMENTAL_BODIES:
        select = f"source:raw_{body}+"
        seconds, run = dbt(target, "build", "--select", select, env=slice_env[body])
        figures[f"{body}_floor_seconds"] = round(seconds, 1)
        figures[f"{body}_floor_ratio"] = round(seconds / full_dbt_seconds, 4)
        print(
            f"dbt's floor for {select} (the same build on empty sources): {seconds:.1f} s "
            f"({run['nodes']} nodes) = {seconds / full_dbt_seconds:.1%} of the full build",
            flush=True,
        )
    return figures


def run_one_size(residents: int, seed: int | None, out: Path, floor: bool = True) -> int:
    """make demo at one size in this process (its environment set by the parent)."""
    import dagster as dg

    from ingestion.demo_region import RegionConfig
    from orchestration.cli.demo import run_demo

    stages = MeasuredStages(total=6)
    with TreeMemory() as memory:
        started = time.perf_counter()
        epoch_offset = time.time() - started  # step events carry epoch seconds
        status = run_demo(
            config=RegionConfig.from_env(residents=residents, seed=seed), stages=stages
        )
        end_to_end = time.perf_counter() - started
        peak_mb = memory.peak()

        from orchestration.definitions import defs

        instance = dg.DagsterInstance.get()
        seconds: dict[str, float] = defaultdict(float)
        peaks: dict[str, float] = defaultdict(float)
        run_id = None
        linkage_steps: dict[str, float] = {}
        for (_, start, end), kind in zip(stages.spans, DEMO_STAGES, strict=True):
            if kind != "regional_build":
                seconds[kind] += end - start
                peaks[kind] = max(peaks[kind], memory.peak(start, end))
                continue
            steps, run_id = _regional_steps(instance, defs)
            in_steps = 0.0
            for stage, step_start, step_end, step_key in steps:
                if stage == "linkage":
                    linkage_steps[step_key] = round(step_end - step_start, 1)
                step_start, step_end = step_start - epoch_offset, step_end - epoch_offset
                seconds[stage] += step_end - step_start
                in_steps += step_end - step_start
                peaks[stage] = max(peaks[stage], memory.peak(step_start, step_end))
            seconds["other"] += max(0.0, (end - start) - in_steps)
        # Outside make demo's numbered stages: loading the definitions, the closing summary.
        seconds["other"] += max(0.0, end_to_end - sum(e - s for _, s, e in stages.spans))
        url = os.environ["JIGSAW_DATABASE_URL"]
        rows = _stage_rows(url, run_id)
        slowest = slowest_dbt_models(instance, run_id) if run_id else {}
        dbt_seconds = seconds.get("dbt", 0.0)
        incremental = _incremental(url, dbt_seconds, floor) if dbt_seconds else {}
        peak_mb = max(peak_mb, memory.peak())
    figures = {
        "residents": residents,
        "demo_status": status,
        "end_to_end_seconds": round(end_to_end, 1),
        "peak_mb": peak_mb,
        **{k: incremental.get(k) for k in INCREMENTAL_BODIES.values()},
        "incremental": {
            k: v for k, v in incremental.items() if k not in INCREMENTAL_BODIES.values()
        },
        "slowest_dbt_models": slowest,
        "linkage_steps": linkage_steps,
        "stages": {
            stage: {
                "seconds": round(seconds.get(stage, 0.0), 1),
                "peak_mb": round(peaks.get(stage, 0.0), 1),
                "rows": rows.get(stage),
            }
            for stage in STAGES
        },
    }
    out.write_text(json.dumps(figures))
    return status


# --- the curve ---------------------------------------------------------------------------


def measure_size(
    residents: int,
    seed: int | None,
    keep: bool,
    prefix: str = DEFAULT_DATABASE_PREFIX,
    region_cache: Path | None = None,
) -> dict:
    server = database.test_server_url()
    url = database.with_database(server, f"{prefix}_{residents}_{uuid.uuid4().hex[:8]}")
    database.ensure_database(url)
    folder = Path(tempfile.mkdtemp(prefix=f"jigsaw-scale-{residents}-"))
    env = {
        **os.environ,
        "JIGSAW_DATABASE_URL": url,
        "JIGSAW_STATE_DIR": str(folder / "state"),
        "JIGSAW_LANDING_DIR": str(folder / "landing"),
        "JIGSAW_GROUND_TRUTH_DIR": str(folder / "ground_truth"),
        "JIGSAW_REPORTS_DIR": str(folder / "reports"),
        "DO_NOT_TRACK": "1",
        "SODA_CORE_TELEMETRY_ENABLED": "false",
    }
    if region_cache is not None:
        # The region's files, kept between runs: make demo generates them only when the folder
        # holds no region of the same configuration (orchestration.cli.demo), and nothing in
        # the run writes there (the incremental deliveries go straight to the database). The
        # region stage then measures the check, not the generation.
        seed_name = "default" if seed is None else seed
        region = region_cache / f"residents-{residents}-seed-{seed_name}"
        env["JIGSAW_LANDING_DIR"] = str(region / "landing")
        env["JIGSAW_GROUND_TRUTH_DIR"] = str(region / "ground_truth")
    env.pop("DAGSTER_HOME", None)  # the state folder's own
    out = folder / "figures.json"
    command = [sys.executable, "-m", "benchmarks.bench_scale", "--one-size", str(residents)]
    command += ["--out", str(out)] + (["--seed", str(seed)] if seed is not None else [])
    command += ["--no-floor"] if keep else []
    print(f"\n--- {residents} residents: {database.describe(url)}, state in {folder}", flush=True)
    try:
        completed = subprocess.run(command, env=env, cwd=REPO_ROOT, check=False)
        if not out.exists():
            raise RuntimeError(
                f"{residents} residents: the run ended (exit "
                f"{completed.returncode}) without figures"
            )
        return json.loads(out.read_text())
    finally:
        if not keep:
            database.drop_database(url)
            shutil.rmtree(folder, ignore_errors=True)


def _ratio(now: float | None, before: float | None) -> str:
    if not now or not before:
        return "-"
    return f"{now / before:.1f}x"


def print_size(figures: dict, previous: dict | None) -> None:
    n = figures["residents"]
    print(
        f"\n{n} residents: end to end {figures['end_to_end_seconds']:.0f} s, peak "
        f"{figures['peak_mb']:.0f} MB (make demo exit {figures['demo_status']})"
    )
    print(f"  {'stage':<11} {'seconds':>8} {'peak MB':>8} {'rows':>11} {'x time':>7} {'x rows':>7}")
    for stage in STAGES:
        s = figures["stages"][stage]
        before = previous["stages"][stage] if previous else {}
        rows = "-" if s["rows"] is None else f"{s['rows']}"
        print(
            f"  {stage:<11} {s['seconds']:>8.1f} {s['peak_mb']:>8.0f} {rows:>11} "
            f"{_ratio(s['seconds'], before.get('seconds')):>7} "
            f"{_ratio(s['rows'], before.get('rows')):>7}"
        )
    if previous:
        growth = n / previous["residents"]
        print(
            f"  residents x{growth:.1f}; end to end "
            f"{_ratio(figures['end_to_end_seconds'], previous['end_to_end_seconds'])}, peak "
            f"{_ratio(figures['peak_mb'], previous['peak_mb'])}"
        )
    slowest = figures.get("slowest_dbt_models") or {}
    if slowest:
        earlier = (previous or {}).get("slowest_dbt_models") or {}
        shown = ", ".join(
            f"{model} {seconds:.0f} s ({_ratio(seconds, earlier.get(model))})"
            for model, seconds in slowest.items()
        )
        print(f"  slowest dbt models: {shown}")
    steps = figures.get("linkage_steps") or {}
    if steps:
        earlier = (previous or {}).get("linkage_steps") or {}
        shown = ", ".join(
            f"{step} {seconds:.1f} s ({_ratio(seconds, earlier.get(step))})"
            for step, seconds in sorted(steps.items(), key=lambda item: -item[1])
        )
        print(f"  linkage steps: {shown}")
    for key, label, body in (
        ("police_incremental_ratio", "police", "police"),
        ("sensors_incremental_ratio", "home sensors", "home_sensors"),
    ):
        value = figures.get(key)
        shown = "not measured" if value is None else f"{value:.1%} of the full dbt build"
        incremental = figures.get("incremental") or {}
        floor = incremental.get(f"{body}_floor_ratio")
        if floor is not None:
            shown += f"; dbt's floor for it (no rows) {floor:.1%}"
        in_process = incremental.get(f"{body}_in_process_ratio")
        if in_process is not None:
            shown += f"; by dbt's runner in process {in_process:.1%}"
        print(f"  one new {label} delivery + downstream: {shown}")


def fastest_growing(sizes: list[dict]) -> tuple[str, float] | None:
    """The stage whose seconds grew most from the second-largest to the largest size."""
    if len(sizes) < 2:
        return None
    before, last = sizes[-2]["stages"], sizes[-1]["stages"]
    ratios = {
        stage: last[stage]["seconds"] / before[stage]["seconds"]
        for stage in STAGES
        if before[stage]["seconds"] >= 1.0
    }
    return max(ratios.items(), key=lambda item: item[1]) if ratios else None


def plot(sizes: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    residents = [s["residents"] for s in sizes]
    figure, axes = plt.subplots(figsize=(8, 5.5))
    for stage in STAGES:
        seconds = [s["stages"][stage]["seconds"] for s in sizes]
        if max(seconds) >= 1.0:
            axes.plot(residents, [max(v, 0.1) for v in seconds], marker="o", label=stage)
    axes.plot(
        residents,
        [s["end_to_end_seconds"] for s in sizes],
        marker="s",
        color="black",
        linewidth=2,
        label="end to end",
    )
    linear = [sizes[0]["end_to_end_seconds"] * r / residents[0] for r in residents]
    axes.plot(residents, linear, linestyle=":", color="grey", label="linear from the first size")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("residents")
    axes.set_ylabel("seconds")
    axes.set_title("Jigsaw pipeline: stage seconds against region size (make demo, 2 cores)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def earlier_sizes(paths: list[Path]) -> list[dict]:
    """The sizes of earlier runs' saved output (the last JSON line of each), each marked with
    the file it came from."""
    sizes = []
    for path in paths:
        lines = [line for line in path.read_text().splitlines() if line.startswith('{"sizes"')]
        if not lines:
            raise SystemExit(f"{path}: no JSON line of sizes (the benchmark's last line)")
        sizes += [{**size, "measured_in": path.name} for size in json.loads(lines[-1])["sizes"]]
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", default=DEFAULT_SIZES, help="sizes, comma-separated")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each size's database as built (dbt's floor, which empties it, is then skipped)",
    )
    parser.add_argument(
        "--database-prefix", default=DEFAULT_DATABASE_PREFIX, help="each size's database name"
    )
    parser.add_argument(
        "--region-cache",
        type=Path,
        help="keep each size's generated region under this folder and reuse it in later runs",
    )
    parser.add_argument(
        "--earlier",
        type=Path,
        nargs="+",
        default=[],
        help="saved output of earlier runs whose sizes join the curve (this run's size wins)",
    )
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.one_size:
        sys.exit(run_one_size(args.one_size, args.seed, args.out, floor=not args.no_floor))
    residents = [int(n.replace("_", "")) for n in args.residents.split(",") if n.strip()]
    earlier = {
        s["residents"]: s for s in earlier_sizes(args.earlier) if s["residents"] not in residents
    }
    for size in sorted(earlier.values(), key=lambda s: s["residents"]):
        print(f"\n{size['residents']} residents: from {size['measured_in']}")
    sizes = sorted(earlier.values(), key=lambda s: s["residents"])
    for n in sorted(residents):
        measured = measure_size(n, args.seed, args.keep, args.database_prefix, args.region_cache)
        before = [s for s in sizes if s["residents"] < n]
        print_size(measured, before[-1] if before else None)
        sizes = sorted([*sizes, measured], key=lambda s: s["residents"])
    grown = fastest_growing(sizes)
    if grown:
        before, last = sizes[-2]["residents"], sizes[-1]["residents"]
        print(
            f"\nfastest-growing stage {before} -> {last} residents (x{last / before:.1f}): "
            f"{grown[0]}, {grown[1]:.1f}x"
        )
    if len(sizes) > 1 and args.plot:
        plot(sizes, args.plot)
        print(f"plot: {args.plot}")
    print(json.dumps({"sizes": sizes}))


if __name__ == "__main__":
    main(sys.argv[1:])
