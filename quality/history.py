"""Check history: every gate's verdict appended to quality.check_results, so trends can be queried.

select dataset, check_name, date_trunc('day', checked_at), count(*) filter (where outcome
= 'failed') from quality.check_results group by 1, 2, 3;
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from psycopg import Connection

HISTORY_DDL = """
create schema if not exists quality;
create table if not exists quality.check_results (
    id bigserial primary key,
    run_id text,
    check_name text not null,
    dataset text not null,
    layer text not null,
    outcome text not null check (outcome in ('passed', 'failed', 'warned')),
    severity text not null,
    diagnostics jsonb not null default '{}'::jsonb,
    checked_at timestamptz not null default now()
);
create index if not exists check_results_trend
    on quality.check_results (dataset, check_name, checked_at);
"""


@dataclass(frozen=True)
class CheckRecord:
    check_name: str
    dataset: str
    layer: str
    outcome: str
    severity: str
    run_id: str | None = None
    diagnostics: dict = field(default_factory=dict)


def create_once(conn: Connection, ddl: str) -> None:
    """Run idempotent DDL safely while other checks of the same run do the same: two concurrent
    `create ... if not exists` can still collide in the catalogue, so they take turns."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('jigsaw.quality.ddl'))")
        conn.execute(ddl)


def ensure_history_table(conn: Connection) -> None:
    create_once(conn, HISTORY_DDL)


def record_checks(conn: Connection, records: list[CheckRecord]) -> None:
    ensure_history_table(conn)
    with conn.cursor() as cursor:
        cursor.executemany(
            "insert into quality.check_results "
            "(run_id, check_name, dataset, layer, outcome, severity, diagnostics) "
            "values (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    r.run_id,
                    r.check_name,
                    r.dataset,
                    r.layer,
                    r.outcome,
                    r.severity,
                    json.dumps(r.diagnostics, default=str),
                )
                for r in records
            ],
        )
