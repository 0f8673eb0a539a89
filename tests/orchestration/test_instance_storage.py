"""write_instance_config creates the instance's storage in one process, before the daemon, its
code server and the webserver open a new DAGSTER_HOME together: when they created it together,
two of them stamped the schedule database's version ("more than one head present") and the
daemon could no longer load any code location (seen in tests/orchestration/test_run_retries.py).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from orchestration.instance import write_instance_config

STAMPED = ("schedules/schedules.db", "history/runs.db")


def _versions(home, database: str) -> list[tuple[str]]:
    with closing(sqlite3.connect(home / database)) as conn:
        return conn.execute("select version_num from alembic_version").fetchall()


def test_the_storage_exists_with_one_version_once_the_config_is_written(tmp_path):
    home = tmp_path / "dagster_home"
    write_instance_config(home)
    first = {database: _versions(home, database) for database in STAMPED}
    assert all(len(versions) == 1 for versions in first.values()), first
    write_instance_config(home)  # every command line start: the storage is only checked
    assert {database: _versions(home, database) for database in STAMPED} == first
