"""Check history: every gate's verdict appended to quality.check_results, so trends can be queried
and publishing can ask for each check's latest verdict.

select dataset, check_name, date_trunc('day', checked_at), count(*) filter (where outcome
= 'failed') from quality.check_results group by 1, 2, 3;
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from psycopg import Connection

from quality.schema import require_quality_schema


@dataclass(frozen=True)
class CheckRecord:
    check_name: str
    dataset: str
    layer: str
    outcome: str
    severity: str
    run_id: str | None = None
    diagnostics: dict = field(default_factory=dict)


def record_checks(conn: Connection, records: list[CheckRecord]) -> None:
    """Append ``records``; no DDL here (quality/schema.py: it deadlocked concurrent checks)."""
    require_quality_schema(conn)
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


def latest_outcomes(conn: Connection) -> dict[tuple[str, str], str]:
    """The latest outcome of every (dataset, check name) in the history."""
    require_quality_schema(conn)
    return {
        (dataset, check): outcome
        for dataset, check, outcome in conn.execute(
            "select distinct on (dataset, check_name) dataset, check_name, outcome "
            "from quality.check_results order by dataset, check_name, checked_at desc, id desc"
        ).fetchall()
    }
