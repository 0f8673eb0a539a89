"""Command line for the whole project (the roof: it drives every floor below):
`python -m orchestration.cli demo|report|ui|docs|lint-sql|database|stop-database`.

The Makefile calls these; each one first settles which database is in use and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from jigsaw import database
from jigsaw.paths import REPO_ROOT, dbt_project_dir
from orchestration.cli.settings import prepare_environment, prepare_tool_environment
from quality.dbt_vars import dbt_vars, dbt_vars_arguments

UI_HOST = "127.0.0.1"
UI_PORT = 3000
DOCS_PORT = 8080


def cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.cli.demo import run_demo

    # run_demo settles the settings itself (its first stage), as `make ui` will.
    return run_demo(residents=args.residents, seed=args.seed, months=args.months)


def ui_command(host: str, port: int) -> list[str]:
    """``dagster dev`` on the project's workspace: webserver, daemon (sensors, schedules) and
    code server, all children of this process and so sharing its settled environment."""
    return [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        host,
        "-p",
        str(port),
    ]


def cmd_report(args: argparse.Namespace) -> int:
    """Run the analytics assets (studies, model, alerts, evaluation, report) on the published
    marts through Dagster, then say where the report is. The demo's regional build runs them
    too; this re-runs only them, e.g. after a change in analytics/."""
    import dagster as dg

    from analytics.report import REPORT_NAME
    from jigsaw.paths import reports_dir

    prepare_environment()
    from orchestration.definitions import defs

    job = defs.resolve_job_def("analytics")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    print(f"jigsaw: analytics {'succeeded' if result.success else 'FAILED'}")
    print(f"jigsaw: report at {reports_dir() / REPORT_NAME}")
    return 0 if result.success else 1


def cmd_ui(args: argparse.Namespace) -> int:
    # The same database, DAGSTER_HOME and key as `make demo`, so the runs the UI's sensors and
    # schedules launch load and build what the demo did.
    prepare_environment()
    print(f"jigsaw: Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    process = subprocess.Popen(ui_command(args.host, args.port), cwd=REPO_ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Let `dagster dev` stop its webserver, daemon and code server itself (SIGINT); killing
        # it would leave them running.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.terminate()
        return 0


def run_dbt(*dbt_args: str) -> int:
    project = str(dbt_project_dir())
    command = [str(Path(sys.executable).parent / "dbt"), *dbt_args]
    command += ["--project-dir", project, "--profiles-dir", project, *dbt_vars_arguments()]
    return subprocess.call(command, cwd=REPO_ROOT)


def cmd_docs(args: argparse.Namespace) -> int:
    from orchestration.cli.docs_site import build_docs_site, serve_docs_site

    prepare_tool_environment()
    status = run_dbt("docs", "generate")
    if status != 0:
        return status
    site = build_docs_site(dbt_project_dir() / "target")
    print(f"jigsaw: dbt docs catalogue built in {site}")
    if args.no_serve:
        return 0
    print(f"jigsaw: dbt docs on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        serve_docs_site(site, args.host, args.port)
    return 0


def cmd_lint_sql(args: argparse.Namespace) -> int:
    # The dbt templater compiles every model, which needs a reachable profile: with no server
    # configured, the embedded one is started for the lint and stopped after it (unless it was
    # already running), so `make lint` leaves nothing behind.
    with database.embedded_server_stopped_after():
        prepare_tool_environment()
        return _sqlfluff_on_the_models()


def _sqlfluff_on_the_models() -> int:
    # dbt's vars come from quality/dbt_vars.py: the templater gets them as its context.
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as config:
        config.write("[sqlfluff:templater:dbt:context]\n")
        config.writelines(f"{name} = {value}\n" for name, value in dbt_vars().items())
    command = [str(Path(sys.executable).parent / "sqlfluff"), "lint", "dbt_project/models"]
    try:
        return subprocess.call([*command, "--config", config.name], cwd=REPO_ROOT)
    finally:
        os.unlink(config.name)


def cmd_database(args: argparse.Namespace) -> int:
    url = prepare_tool_environment()
    print(database.describe(url))
    return 0


def cmd_stop_database(args: argparse.Namespace) -> int:
    stopped = database.stop_embedded_server()
    print("jigsaw: embedded PostgreSQL stopped" if stopped else "jigsaw: no embedded PostgreSQL")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jigsaw", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate the demo region and run the pipeline")
    demo.add_argument("--residents", type=int, default=None)
    demo.add_argument("--seed", type=int, default=None)
    demo.add_argument("--months", type=int, default=None)
    demo.set_defaults(func=cmd_demo)

    commands.add_parser(
        "report", help="re-run the analytics assets and write the analysts' report"
    ).set_defaults(func=cmd_report)

    ui = commands.add_parser("ui", help="serve the Dagster UI")
    ui.add_argument("--host", default=UI_HOST)
    ui.add_argument("--port", type=int, default=UI_PORT)
    ui.set_defaults(func=cmd_ui)

    docs = commands.add_parser("docs", help="build and serve the dbt docs catalogue")
    docs.add_argument("--host", default=UI_HOST)
    docs.add_argument("--port", type=int, default=DOCS_PORT)
    docs.add_argument("--no-serve", action="store_true", help="build the catalogue only")
    docs.set_defaults(func=cmd_docs)
    commands.add_parser("lint-sql", help="sqlfluff on the dbt models").set_defaults(
        func=cmd_lint_sql
    )
    commands.add_parser("database", help="print the database in use").set_defaults(
        func=cmd_database
    )
    commands.add_parser(
        "stop-database", help="stop the embedded PostgreSQL (make clean does this first)"
    ).set_defaults(func=cmd_stop_database)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
