"""Run every benchmark (or those named): `python -m benchmarks [topic ...]`."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    topics = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    )
    # Options (from the first "-" on) go to the benchmarks named:
    # `python -m benchmarks ingestion --rows 200000 --with-dlt`.
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    named = argv[:first_option]
    chosen = [a.replace("-", "_") for a in named] or topics  # linkage-general too
    unknown = sorted(set(chosen) - set(topics))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {topics}", file=sys.stderr)
        return 2
    for topic in chosen:
        print(f"\n=== benchmark: {topic} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{topic}")
        module.main(argv[first_option:])
        print(f"=== {topic}: {time.perf_counter() - started:.1f} s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
