"""The loaded Dagster definitions against a committed snapshot, as dagster-open-platform does:
every asset key, asset check, job, sensor and schedule, one per line, so a rename, a lost check
or a new job shows up as a diff in review rather than as a surprise in the UI.

After an intended change, refresh the snapshot and commit it with the change:

    .venv/bin/python -m tests.orchestration.test_definitions_snapshot
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.txt")
REFRESH = ".venv/bin/python -m tests.orchestration.test_definitions_snapshot"


def describe(defs: dg.Definitions) -> str:
    """The definitions as sorted lines under a heading per kind."""
    graph = defs.resolve_asset_graph()
    sections = {
        "asset keys": [key.to_user_string() for key in graph.get_all_asset_keys()],
        "asset checks (asset: check)": [
            f"{check.asset_key.to_user_string()}: {check.name}" for check in graph.asset_check_keys
        ],
        # Dagster's implicit __ASSET_JOB holds every asset; it is not one of ours.
        "jobs": [job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")],
        "sensors": [sensor.name for sensor in defs.sensors or []],
        "schedules (job at cron, timezone)": [
            f"{s.name}: {s.job_name} at {s.cron_schedule}, {s.execution_timezone or 'UTC'}"
            for s in defs.schedules or []
        ],
    }
    lines = []
    for heading, entries in sections.items():
        lines.append(f"# {heading}: {len(entries)}")
        lines.extend(sorted(entries))
    return "\n".join(lines) + "\n"


def current() -> str:
    from orchestration.definitions import defs

    return describe(defs)


def test_definitions_match_the_committed_snapshot():
    expected = SNAPSHOT.read_text()
    actual = current()
    if actual != expected:
        old, new = set(expected.splitlines()), set(actual.splitlines())
        gone = "\n".join(f"  - {line}" for line in sorted(old - new))
        added = "\n".join(f"  + {line}" for line in sorted(new - old))
        raise AssertionError(
            f"the definitions differ from {SNAPSHOT.name}:\n{gone}\n{added}\n"
            f"if the change is intended, refresh it with `{REFRESH}` and commit the file"
        )


def test_the_snapshot_names_what_it_should():
    """The snapshot is not an empty or stale file that would pass by matching nothing."""
    text = SNAPSHOT.read_text()
    assert "# asset keys: 0" not in text and "# asset checks (asset: check): 0" not in text
    assert "raw_police/incidents" in text
    assert "regional_build" in text and "nightly_regional_build: regional_build" in text
    assert "police__deliveries_sensor" in text


if __name__ == "__main__":
    SNAPSHOT.write_text(current())
    print(f"wrote {SNAPSHOT}")
