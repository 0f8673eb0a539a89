"""python -m ingestion.demo_region [--residents N] [--seed S] [--months M] [--landing DIR]
[--truth DIR]: write the demo region's deliveries and ground truth, then print a summary."""

from __future__ import annotations

import argparse
from pathlib import Path

from ingestion.demo_region.config import RegionConfig
from ingestion.demo_region.generate import generate_region


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.demo_region", description=__doc__.split(":")[0]
    )
    parser.add_argument("--residents", type=int, help="default $JIGSAW_DEMO_RESIDENTS or 20000")
    parser.add_argument("--seed", type=int, help="default $JIGSAW_DEMO_SEED or 20261125")
    parser.add_argument("--months", type=int, help="months covered (default 24)")
    parser.add_argument("--start", help="first month, YYYY-MM (default 2024-01)")
    parser.add_argument("--landing", type=Path, help="default: jigsaw.paths.landing_dir()")
    parser.add_argument("--truth", type=Path, help="default: jigsaw.paths.ground_truth_dir()")
    args = parser.parse_args(argv)
    config = RegionConfig.from_env(
        residents=args.residents, seed=args.seed, months=args.months, start=args.start
    )
    summary = generate_region(config, args.landing, args.truth)
    print(summary.text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
