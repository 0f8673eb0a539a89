"""The quality schema's tables: check history, publications and the access log.

Their DDL runs once, before the steps that write them (``ensure_quality_schema``: each load
run's setup, the operator CLI), never inside a check or publishing step. ``create index if not
exists`` takes a share lock on its table even when the index is there, so DDL in a check step
waited behind every other step's uncommitted verdict, and a step recording a second verdict in
its transaction waited in turn for the DDL: under the multiprocess executor the steps
deadlocked. A step calls ``require_quality_schema``, a catalogue read that takes no lock; it
creates the tables only where they are missing (a new database used outside Dagster).
"""

from __future__ import annotations

from psycopg import Connection
from psycopg.pq import TransactionStatus

QUALITY_SCHEMA = "quality"

HISTORY_DDL = f"""
create table if not exists {QUALITY_SCHEMA}.check_results (
    id bigserial primary key,
    run_id text,
    check_name text not null,
    dataset text not null,
    layer text not null,
    outcome text not null check (outcome in ('passed', 'failed', 'warned')),
    severity text not null,
    diagnostics jsonb not null default '{{}}'::jsonb,
    checked_at timestamptz not null default now()
);
create index if not exists check_results_trend
    on {QUALITY_SCHEMA}.check_results (dataset, check_name, checked_at);
"""

PUBLICATIONS_DDL = f"""
create table if not exists {QUALITY_SCHEMA}.publications (
    id bigserial primary key,
    mart text not null,
    row_count bigint not null,
    run_id text,
    published_at timestamptz not null default now()
);
create index if not exists publications_mart
    on {QUALITY_SCHEMA}.publications (mart, published_at);
"""

ACCESS_LOG_DDL = f"""
create table if not exists {QUALITY_SCHEMA}.access_log (
    id bigserial primary key,
    read_at timestamptz not null,
    who text not null,
    database_name text,
    connection_from text,
    relation text,
    outcome text not null check (outcome in ('read', 'refused')),
    method text not null,
    statement text,
    log_file text not null,
    log_line integer not null
);
create unique index if not exists access_log_line
    on {QUALITY_SCHEMA}.access_log (log_file, log_line, coalesce(relation, ''));
create or replace view {QUALITY_SCHEMA}.who_read_what as
select who, relation, outcome, count(*) as statements, min(read_at) as first_read_at,
    max(read_at) as last_read_at
from {QUALITY_SCHEMA}.access_log group by who, relation, outcome;
comment on view {QUALITY_SCHEMA}.who_read_what is
    'For the data protection officer: each role''s reads (and refused attempts) per relation.';
"""

# Each table's DDL with the relations it makes (its last statement's last): a step creates only
# what is missing, so a database made before a table existed gets it without the step touching
# the tables other steps are writing.
PARTS = (
    (HISTORY_DDL, ("check_results", "check_results_trend")),
    (PUBLICATIONS_DDL, ("publications", "publications_mart")),
    (ACCESS_LOG_DDL, ("access_log", "access_log_line", "who_read_what")),
)


def create_once(conn: Connection, ddl: str) -> None:
    """Run idempotent DDL while other processes may do the same: two concurrent
    ``create ... if not exists`` can still collide in the catalogue, so they take turns."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('jigsaw.quality.ddl'))")
        conn.execute(ddl)


def ensure_quality_schema(conn: Connection) -> None:
    """Create (or update) the quality tables: once, before the steps that write them."""
    create_once(
        conn, f"create schema if not exists {QUALITY_SCHEMA};" + "".join(d for d, _ in PARTS)
    )


def _present(conn: Connection) -> set[str]:
    """Which quality relations exist: a catalogue read that takes no lock."""
    names = [f"{QUALITY_SCHEMA}.{r}" for _, relations in PARTS for r in relations]
    return {
        name.split(".", 1)[1]
        for (name,) in conn.execute(
            "select n from unnest(%s::text[]) as n where to_regclass(n) is not null", (names,)
        ).fetchall()
    }


def require_quality_schema(conn: Connection) -> None:
    """For a step that writes the quality tables: no DDL where they exist; a table missing (a
    new database used outside a load run, or one made before the table existed) is made first,
    on its own."""
    idle = conn.info.transaction_status == TransactionStatus.IDLE
    present = _present(conn)
    missing = [ddl for ddl, relations in PARTS if not present.issuperset(relations)]
    if not missing:
        return
    if idle and not conn.autocommit:
        # Only the catalogue read above is in this transaction: end it, so the DDL commits on
        # its own and releases its locks before the step writes.
        conn.commit()
    create_once(conn, f"create schema if not exists {QUALITY_SCHEMA};" + "".join(missing))
