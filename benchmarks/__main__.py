"""Run every benchmark (or those named): `python -m benchmarks [topic ...]`.

Options after a single topic go to that benchmark: `python -m benchmarks scale --residents
20000,100000`.
"""

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
    options = [a for a in argv if a.startswith("-")]
    if options:  # one topic and its own options
        first = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
        if first != 1:
            print(
                "options follow exactly one topic: python -m benchmarks TOPIC --option ...",
                file=sys.stderr,
            )
            return 2
        argv, options = argv[:1], argv[1:]
    chosen = [a.replace("-", "_") for a in argv] or topics  # linkage-general too
    unknown = sorted(set(chosen) - set(topics))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {topics}", file=sys.stderr)
        return 2
    for topic in chosen:
        print(f"\n=== benchmark: {topic} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{topic}")
        module.main(options) if options else module.main()
        print(f"=== {topic}: {time.perf_counter() - started:.1f} s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
