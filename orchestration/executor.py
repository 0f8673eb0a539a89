"""How the project's jobs run their steps when launched (UI, sensors, schedules): Dagster's
multiprocess executor, one process per step, started from a fork server that has imported the
code location once.

Dagster's default start method is ``spawn``: every step is a fresh interpreter that imports the
whole code location again (specs, the dbt manifest, the Soda contracts; 3 s of CPU, 20-30 s on
a loaded two-core machine), so the regional build's ~70 steps spent most of their time starting.
The fork server imports the code location and resolves its jobs once (orchestration/forkserver.py)
and forks each step from it. ``make demo`` runs jobs in process and is not affected.
"""

from __future__ import annotations

import dagster as dg

STEP_EXECUTOR = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["orchestration.forkserver"]}}},
    name="multiprocess_forkserver",
)
