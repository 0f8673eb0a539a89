"""Command line: `python -m linkage link|run|addresses|evaluate`.

`link` links any CSV files given a column mapping, with no database; `run` links the
project's identity schema and writes the linkage schema; `evaluate` scores the current
linkage against the demo region's ground truth.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from linkage.inputs import LINK_TYPES
from linkage.linker import DEFAULT_LINK_THRESHOLD, DEFAULT_REVIEW_BAND


def _link(args: argparse.Namespace) -> int:
    from linkage.inputs import MappingError, read_mapping
    from linkage.linker import link_tables

    options = {}
    if args.link_type:
        options["link_type"] = args.link_type
    if args.twins_guard:
        options["twins_guard"] = args.twins_guard == "on"
    try:
        result = link_tables(
            [Path(p) for p in args.input],
            read_mapping(args.mapping),
            backend=args.backend,
            link_threshold=args.threshold,
            review_band=(args.review_from, args.threshold),
            **options,
        )
    except MappingError as exc:
        print(f"{args.mapping}: {exc}", file=sys.stderr)
        return 2
    result.clusters().to_csv(args.output, index=False)
    if args.pairs:
        columns = [
            "source_l",
            "record_id_l",
            "source_r",
            "record_id_r",
            "match_probability",
            "method",
            "accepted",
        ]
        result.pairs[columns].to_csv(args.pairs, index=False)
    if args.review:
        review = result.review.assign(evidence=result.review["evidence"].map(json.dumps))
        review.to_csv(args.review, index=False)
    print(json.dumps(_rounded(result.stats), indent=2))
    return 0


def _run(args: argparse.Namespace) -> int:
    from linkage.addresses import run_address_matching
    from linkage.pipeline import run_person_linkage

    stats = run_person_linkage(
        backend=args.backend,
        link_threshold=args.threshold,
        review_band=(args.review_from, args.threshold),
    )
    print(json.dumps(_rounded(stats), indent=2))
    if not args.skip_addresses:
        print(json.dumps(run_address_matching(), indent=2))
    return 0


def _addresses(_args: argparse.Namespace) -> int:
    from linkage.addresses import run_address_matching

    print(json.dumps(run_address_matching(), indent=2))
    return 0


def _evaluate(_args: argparse.Namespace) -> int:
    from linkage.ground_truth import evaluate_database

    report = evaluate_database()
    print(json.dumps(report, indent=2))
    return 0 if report.get("available") else 1


def _rounded(stats: dict) -> dict:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m linkage", description="Jigsaw person linkage (splink)."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def tuning(command: argparse.ArgumentParser) -> None:
        command.add_argument("--backend", choices=["duckdb", "postgres"], default="duckdb")
        command.add_argument(
            "--threshold",
            type=float,
            default=DEFAULT_LINK_THRESHOLD,
            help="match probability at or above which a pair is linked",
        )
        command.add_argument(
            "--review-from",
            type=float,
            default=DEFAULT_REVIEW_BAND[0],
            help="pairs from this probability up to the threshold go to clerical review",
        )

    link = commands.add_parser("link", help="link CSV files given a column mapping (YAML)")
    link.add_argument("--input", action="append", required=True, help="a CSV file; repeat")
    link.add_argument("--mapping", required=True, help="YAML: standard field -> column name")
    link.add_argument("--output", required=True, help="CSV of source, record_id, cluster_id")
    link.add_argument("--pairs", help="also write the scored pairs to this CSV")
    link.add_argument("--review", help="also write the clerical review pairs to this CSV")
    link.add_argument(
        "--link-type",
        choices=list(LINK_TYPES),
        help="default: the mapping's link_type, else dedupe_only for one input and "
        "link_only for several",
    )
    link.add_argument(
        "--twins-guard",
        choices=["on", "off"],
        help="hold back household pairs that look like twins or namesakes (default: the "
        "mapping's twins_guard, else on)",
    )
    tuning(link)
    link.set_defaults(handler=_link)

    run = commands.add_parser("run", help="link identity.person_records into the linkage schema")
    run.add_argument("--skip-addresses", action="store_true", help="person keys only")
    tuning(run)
    run.set_defaults(handler=_run)

    addresses = commands.add_parser("addresses", help="rebuild linkage.address_xref only")
    addresses.set_defaults(handler=_addresses)

    evaluate = commands.add_parser(
        "evaluate", help="precision, recall and F1 against the demo region's ground truth"
    )
    evaluate.set_defaults(handler=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
