"""Command line for the whole project: `python -m jigsaw.cli demo|ui|docs|lint-sql|database`.

The Makefile calls these; each one first settles which database is in use and says so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jigsaw import database
from jigsaw.paths import REPO_ROOT, dbt_project_dir, state_dir
from quality.disclosure import dbt_vars, dbt_vars_arguments

UI_HOST = "127.0.0.1"
UI_PORT = 3000


def prepare_environment() -> str:
    """Settle DAGSTER_HOME, quiet telemetry and the database; returns the database URL."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(state_dir() / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return database.resolve_database_url(announce=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from jigsaw.demo import run_demo

    prepare_environment()
    return run_demo(residents=args.residents, seed=args.seed, months=args.months)


def cmd_ui(args: argparse.Namespace) -> int:
    prepare_environment()
    print(f"jigsaw: Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    try:
        return subprocess.call(command, cwd=REPO_ROOT)
    except KeyboardInterrupt:
        return 0


def run_dbt(*dbt_args: str) -> int:
    project = str(dbt_project_dir())
    command = [str(Path(sys.executable).parent / "dbt"), *dbt_args]
    command += ["--project-dir", project, "--profiles-dir", project, *dbt_vars_arguments()]
    return subprocess.call(command, cwd=REPO_ROOT)


def cmd_docs(args: argparse.Namespace) -> int:
    prepare_environment()
    status = run_dbt("docs", "generate")
    if status == 0:
        target = dbt_project_dir() / "target" / "index.html"
        print(f"jigsaw: dbt docs catalogue built: {target}")
        print(
            "jigsaw: serve it with  .venv/bin/dbt docs serve --project-dir dbt_project "
            "--profiles-dir dbt_project --host 127.0.0.1 --port 8080"
        )
    return status


def cmd_lint_sql(args: argparse.Namespace) -> int:
    # The dbt templater compiles every model, which needs a reachable profile.
    prepare_environment()
    # dbt's vars come from quality/disclosure.py: the templater gets them as its context.
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as config:
        config.write("[sqlfluff:templater:dbt:context]\n")
        config.writelines(f"{name} = {value}\n" for name, value in dbt_vars().items())
    command = [str(Path(sys.executable).parent / "sqlfluff"), "lint", "dbt_project/models"]
    try:
        return subprocess.call([*command, "--config", config.name], cwd=REPO_ROOT)
    finally:
        os.unlink(config.name)


def cmd_database(args: argparse.Namespace) -> int:
    url = prepare_environment()
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

    ui = commands.add_parser("ui", help="serve the Dagster UI")
    ui.add_argument("--host", default=UI_HOST)
    ui.add_argument("--port", type=int, default=UI_PORT)
    ui.set_defaults(func=cmd_ui)

    commands.add_parser("docs", help="build the dbt docs catalogue").set_defaults(func=cmd_docs)
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
