"""Verify Soda contracts from the command line, outside Dagster:

    python -m quality [raw|staging|core|marts] ...

Prints one line per contract and exits 1 when any contract fails. Verdicts are not recorded
in the check history (only Dagster runs are).
"""

from __future__ import annotations

import sys

from quality.contract_files import load_contracts
from quality.soda_runner import verify_contracts


def main(argv: list[str]) -> int:
    layers = set(argv) or {"raw", "staging", "core", "marts"}
    contracts = [c for c in load_contracts() if c.layer in layers]
    results = verify_contracts([c.path for c in contracts])
    for result in results:
        print(("ok    " if result.passed else "FAIL  ") + result.summary())
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
