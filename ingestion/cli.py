"""The operator's command line, without Dagster: ``python -m ingestion ...``.

    python -m ingestion load [--landing DIR]        load everything landed; print the summary
    python -m ingestion deliveries list [--body B] [--status S]
    python -m ingestion deliveries approve DELIVERY [--by NAME]
    python -m ingestion deliveries discard DELIVERY [--by NAME]
    python -m ingestion deliveries reinstate DELIVERY [--by NAME]

``load`` exits 0 when every file ended loaded, quarantined in part, rejected, held or otherwise
recorded, 1 when a load failed. A delivery is named by its ledger id,
``<body>/<delivery date>/<file name>``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path

import psycopg

from ingestion import ledger
from ingestion.folder_load import load_landing
from ingestion.operations import OperatorError, approve, discard, reinstate
from ingestion.pseudonymise import MissingKeyError, Pseudonymiser
from ingestion.spec import load_specs
from jigsaw.database import resolve_database_url
from jigsaw.paths import landing_dir


def _load(args: argparse.Namespace) -> int:
    summary = load_landing(resolve_database_url(announce=True), args.landing)
    print(summary.describe())
    return 1 if summary.failed else 0


def _list(args: argparse.Namespace) -> int:
    with psycopg.connect(resolve_database_url(), autocommit=True) as conn:
        rows = ledger.listing(conn, args.body, args.status) if ledger.exists(conn) else []
    print("delivery\tperiod\tstatus\tdelivered\tloaded\tquarantined\tattempts\tdecided_by\tnote")
    for row in rows:
        print("\t".join("" if v is None else str(v) for v in row))
    return 0


def _decide(args: argparse.Namespace) -> int:
    landing = args.landing or landing_dir()
    with psycopg.connect(resolve_database_url(), autocommit=True) as conn:
        if args.action == "discard":
            discard(conn, args.delivery, args.by)
            print(f"{args.delivery}: discarded by {args.by}")
            return 0
        act = approve if args.action == "approve" else reinstate
        result = act(conn, load_specs(), args.delivery, landing, args.by, Pseudonymiser())
    print(
        f"{args.delivery}: {args.action}d by {args.by}: {result.rows_loaded} rows loaded, "
        f"{result.rows_quarantined} quarantined"
        + (f", replacing {result.replaced}" if result.replaced else "")
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingestion", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="load everything in the landing folder")
    load.add_argument("--landing", type=Path, help="landing folder (default: JIGSAW_LANDING_DIR)")
    load.set_defaults(run=_load)
    deliveries = commands.add_parser("deliveries", help="read and decide on deliveries")
    actions = deliveries.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the ledger, newest first")
    listing.add_argument("--body")
    listing.add_argument("--status")
    listing.set_defaults(run=_list)
    for action, text in (
        ("approve", "apply a delivery held for review"),
        ("discard", "set a held (or failed) delivery aside; the loaded one stays"),
        ("reinstate", "make an earlier delivery current for its period again"),
    ):
        command = actions.add_parser(action, help=text)
        command.add_argument("delivery", help="ledger id: <body>/<delivery date>/<file name>")
        command.add_argument("--by", default=getpass.getuser(), help="who decides (recorded)")
        command.add_argument("--landing", type=Path, help="landing folder")
        command.set_defaults(run=_decide)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (MissingKeyError, OperatorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
