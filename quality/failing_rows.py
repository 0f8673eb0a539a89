"""A few failing rows for a failed contract check, so the UI shows where to look, not only how many.

Raw rows are located by their lineage (delivery and row number in the delivered file), read
through the raw table's lineage view (the rows carry a delivery key; the view joins the ledger
for the delivery id); other layers show the offending value only. Only missing, invalid
(allowed values) and duplicate-key checks are sampled, on the columns they test: categorical
values and pseudonymous keys, never a clear identifier (raw holds none).
"""

from __future__ import annotations

from pathlib import Path

from psycopg import Connection, sql

from ingestion.raw_tables import lineage_view
from jigsaw.yamlfile import read_yaml
from quality.soda_runner import SodaCheckOutcome

SAMPLE_SIZE = 5
LINEAGE = ["_delivery_id", "_source_row_number"]


def _column_checks(document: dict, column: str) -> list[dict]:
    for entry in document.get("columns") or []:
        if entry.get("name") == column:
            return [c for c in entry.get("checks") or [] if isinstance(c, dict)]
    return []


def _check_body(checks: list[dict], kind: str) -> dict:
    for check in checks:
        if kind in check:
            return check[kind] or {}
    return {}


def _rows(conn: Connection, query: sql.Composable, params: tuple = ()) -> list[dict]:
    cursor = conn.execute(query, params)
    names = [d.name for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def sample_failing_rows(
    conn: Connection, contract_path: Path, schema: str, table: str, check: SodaCheckOutcome
) -> list[dict]:
    """Up to SAMPLE_SIZE rows that fail ``check``; [] when the check type is not sampled."""
    document = read_yaml(contract_path) or {}
    located = schema.startswith("raw_")
    relation = sql.Identifier(schema, lineage_view(table) if located else table)
    if check.type in ("missing", "invalid") and check.column:
        col = sql.Identifier(check.column)
        shown = [*LINEAGE, check.column] if located else [check.column]
        select = sql.SQL(", ").join(sql.Identifier(c) for c in shown)
        if check.type == "missing":
            return _rows(
                conn,
                sql.SQL("select {s} from {t} where {c} is null limit {n}").format(
                    s=select, t=relation, c=col, n=sql.Literal(SAMPLE_SIZE)
                ),
            )
        valid = _check_body(_column_checks(document, check.column), "invalid").get("valid_values")
        if not valid:
            return []
        return _rows(
            conn,
            sql.SQL(
                "select {s} from {t} where {c} is not null and {c}::text <> all(%s) limit {n}"
            ).format(s=select, t=relation, c=col, n=sql.Literal(SAMPLE_SIZE)),
            ([str(v) for v in valid],),
        )
    if check.type == "duplicate" and not check.column:
        duplicate = next(
            (c["duplicate"] for c in document.get("checks") or [] if "duplicate" in (c or {})), {}
        )
        columns = (duplicate or {}).get("columns") or []
        if not columns:
            return []
        keys = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        return _rows(
            conn,
            sql.SQL(
                "select {k}, count(*) as copies from {t} group by {k} having count(*) > 1 limit {n}"
            ).format(k=keys, t=relation, n=sql.Literal(SAMPLE_SIZE)),
        )
    return []
