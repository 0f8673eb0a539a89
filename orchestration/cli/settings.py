"""The settings every Jigsaw process shares, settled in one place for `make demo`, `make ui` and
`make docs`, so that the UI (and the runs its sensors and schedules launch) sees exactly what
the demo built.

- the database: ``JIGSAW_DATABASE_URL`` (or PG*, or the embedded server), exported as the
  ``JIGSAW_DB_*`` fields dbt's profiles.yml and Soda read (``jigsaw.database``);
- ``DAGSTER_HOME``: run history, schedules and sensor state (default ``.jigsaw/dagster_home``);
- ``JIGSAW_PSEUDONYMISATION_KEY``: from the environment; the documented demo key is used only
  when the key is unset *and* the database is the one ``make demo`` built with that key (marked
  by a comment on the database), never for a database of real deliveries;
- telemetry off (dbt, Soda, Dagster).

Every setting is listed in ``.env.example`` and the README; ``SETTINGS`` names them, and a
test holds the three together.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from jigsaw import database
from jigsaw.paths import state_dir
from orchestration.instance import write_instance_config

# The comment `make demo` leaves on a database it built with the demo key.
DEMO_DATABASE_COMMENT = "jigsaw demo region (documented demo pseudonymisation key)"
QUIET_TELEMETRY = {"DO_NOT_TRACK": "1", "SODA_CORE_TELEMETRY_ENABLED": "false"}

# Every environment variable a Jigsaw process reads; .env.example documents each one.
SETTINGS = (
    "JIGSAW_DATABASE_URL",
    KEY_VARIABLE,
    "JIGSAW_ENGINEER_PASSWORD",
    "JIGSAW_ANALYST_PASSWORD",
    "JIGSAW_LINKAGE_PASSWORD",
    "JIGSAW_ALERT_SMTP_HOST",
    "JIGSAW_ALERT_SMTP_PORT",
    "JIGSAW_ALERT_SMTP_USER",
    "JIGSAW_ALERT_SMTP_PASSWORD",
    "JIGSAW_ALERT_SMTP_STARTTLS",
    "JIGSAW_ALERT_EMAIL_FROM",
    "JIGSAW_ALERT_EMAIL_TO",
    "JIGSAW_ALERT_WEBHOOK_URL",
    "JIGSAW_DAGSTER_UI_URL",
    "JIGSAW_DEMO_RESIDENTS",
    "JIGSAW_DEMO_SEED",
    "JIGSAW_STATE_DIR",
    "DAGSTER_HOME",
    "JIGSAW_LANDING_DIR",
    "JIGSAW_GROUND_TRUTH_DIR",
    "JIGSAW_SPECS_DIR",
    "JIGSAW_DBT_PROJECT_DIR",
    "JIGSAW_CONTRACTS_DIR",
)


def dagster_home() -> Path:
    """DAGSTER_HOME, defaulting to the state folder's dagster_home, with the project's instance
    configuration (run retries, concurrency pools, no telemetry: orchestration/instance.py)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(state_dir() / "dagster_home")))
    write_instance_config(home)
    return home


def _database_comment(url: str) -> str | None:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select shobj_description(oid, 'pg_database') from pg_database"
            " where datname = current_database()"
        ).fetchone()[0]


def mark_demo_database(url: str) -> None:
    """Record that this database holds the demo region, pseudonymised with the demo key."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("comment on database {} is {}").format(
                sql.Identifier(database.parse_url(url).dbname), sql.Literal(DEMO_DATABASE_COMMENT)
            )
        )


def is_demo_database(url: str) -> bool:
    return _database_comment(url) == DEMO_DATABASE_COMMENT


class DemoKeyRefused(RuntimeError):
    """`make demo` without a key on a database that holds deliveries the demo did not load."""


def _holds_deliveries(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("select to_regclass('ingestion.deliveries') is null").fetchone()[0]:
            return False
        return conn.execute("select exists (select from ingestion.deliveries)").fetchone()[0]


def demo_key_allowed(url: str) -> bool:
    """The documented demo key may be used on a database the demo owns: one an earlier demo
    run marked, or one holding no deliveries yet (which is then marked). Anywhere else the
    key must come from the environment."""
    if is_demo_database(url):
        return True
    if _holds_deliveries(url):
        return False
    mark_demo_database(url)
    return True


def settle_key(url: str, *, demo: bool) -> str:
    """Puts the pseudonymisation key in force and says where it came from.

    ``demo`` (make demo): the demo key when none is set, on a database the demo owns (refused,
    with DemoKeyRefused, on one holding other deliveries). Otherwise (make ui): the demo key
    only for a database the demo marked.
    """
    if os.environ.get(KEY_VARIABLE):
        return f"{KEY_VARIABLE} from the environment"
    if is_demo_database(url) or (demo and demo_key_allowed(url)):
        os.environ[KEY_VARIABLE] = DEMO_KEY
        return f"the documented demo key ({KEY_VARIABLE} unset; demo database)"
    if demo:
        raise DemoKeyRefused(
            f"{KEY_VARIABLE} is not set, and {database.describe(url)} holds deliveries the demo "
            "did not load: set the key (the demo key is only for the demo's own database)"
        )
    return (
        f"none: {KEY_VARIABLE} is unset and {database.describe(url)} is not the demo's "
        "database, so loads will stop with MissingKeyError until it is set"
    )


def prepare_environment(*, demo: bool = False, announce: bool = True) -> str:
    """Settle telemetry, DAGSTER_HOME, the database and (for demo and UI) the key; returns
    the database URL. Child processes (dbt, Soda, Dagster's code server, daemon and run
    workers) inherit all of it."""
    for name, value in QUIET_TELEMETRY.items():
        os.environ.setdefault(name, value)
    home = dagster_home()
    url = database.resolve_database_url(announce=announce)
    key = settle_key(url, demo=demo)
    if announce:
        print(f"jigsaw: DAGSTER_HOME {home}", file=sys.stderr)
        print(f"jigsaw: pseudonymisation key: {key}", file=sys.stderr)
    return url


def prepare_tool_environment(*, announce: bool = True) -> str:
    """The database and telemetry only, for tools that never load data (dbt docs, sqlfluff)."""
    for name, value in QUIET_TELEMETRY.items():
        os.environ.setdefault(name, value)
    dagster_home()
    return database.resolve_database_url(announce=announce)
