"""`make report`: run the analytics assets (studies, model, alerts, evaluation, report) on the
published marts through Dagster, then say where the report is.

The demo's regional build runs them too; this re-runs only them, e.g. after a change here.
"""

from __future__ import annotations

import sys


def main() -> int:
    import dagster as dg

    from analytics.report import REPORT_NAME
    from jigsaw.cli import prepare_environment
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


if __name__ == "__main__":
    sys.exit(main())
