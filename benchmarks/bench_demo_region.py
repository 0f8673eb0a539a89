"""Demo region generation: wall time, peak memory and output size by number of residents.

    python -m benchmarks.bench_demo_region            # 20k, 100k and 1M residents
    python -m benchmarks.bench_demo_region 20000 50000

Each size runs in a child process of its own, so peak RSS (getrusage) is that size's alone.
Output goes to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SIZES = (20_000, 100_000, 1_000_000)


def _child(residents: int, folder: Path) -> None:
    from ingestion.demo_region import RegionConfig, generate_region

    began = time.perf_counter()
    summary = generate_region(
        RegionConfig(residents=residents), folder / "landing", folder / "truth"
    )
    seconds = time.perf_counter() - began
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    stats = summary.bodies.values()
    print(
        json.dumps(
            {
                "residents": residents,
                "seconds": round(seconds, 1),
                "peak_mb": round(peak_kb / 1024),
                "files": sum(s["files"] for s in stats),
                "rows": sum(s["rows"] for s in stats),
                "bytes": sum(s["bytes"] for s in stats),
                "sensor_rows": summary.bodies.get("home_sensors", {}).get("rows", 0),
            }
        )
    )


def measure(residents: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_demo_region_") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_demo_region", "--child", str(residents), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        _child(int(args[1]), Path(args[2]))
        return
    sizes = [int(a) for a in args] or list(DEFAULT_SIZES)
    print(
        f"{'residents':>10} {'seconds':>8} {'peak MB':>8} {'files':>6} {'rows':>12} "
        f"{'sensor rows':>12} {'GB':>6}"
    )
    for residents in sizes:
        r = measure(residents)
        print(
            f"{r['residents']:>10,} {r['seconds']:>8.1f} {r['peak_mb']:>8,} {r['files']:>6,} "
            f"{r['rows']:>12,} {r['sensor_rows']:>12,} {r['bytes'] / 1e9:>6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
