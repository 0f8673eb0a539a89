"""Differencing: a suppressed cell must not be recoverable from anything else its readers read.

Suppression inside one table (``disclosure.py``: no count from 1 to threshold - 1, never a lone
suppressed cell in a group whose total is published) protects nothing when the same readers
can rebuild the table: a record-level mart with the aggregate's cell dimensions (one row per
person per area and month, say) recomputes every cell, suppressed ones included, by counting.

For an aggregate mart A with cell dimensions D (``meta.disclosure_groups``), this check looks
at every other mart M that a reader of A can read and fails when M is not an aggregate under
disclosure control and holds every column of D. Who reads a mart of the dbt project is the
publishing rule (``access.readers``: its publication and every ``database_roles`` run reset its
grants to the rule); who reads any other table in `marts` is what the catalogue grants now.
Aggregate against aggregate is left to the threshold and secondary suppression of each (see
README, Five Safes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from psycopg import Connection

from jigsaw import schemas
from quality.access import AGGREGATE, readers, who_reads
from quality.manifest import MartModel
from quality.privacy import columns_of


@dataclass(frozen=True)
class DifferencingFinding:
    mart: str
    other: str
    roles: tuple[str, ...]
    dimensions: tuple[str, ...]
    detail: str

    def as_dict(self) -> dict:
        return {
            "mart": self.mart,
            "other": self.other,
            "roles": list(self.roles),
            "dimensions": list(self.dimensions),
            "detail": self.detail,
        }


def _columns(conn: Connection, name: str, schemas: Iterable[str]) -> set[str]:
    for schema in schemas:
        found = {c for c, _ in columns_of(conn, schema, name)}
        if found:
            return found
    return set()


def check_differencing(
    conn: Connection,
    mart: MartModel,
    marts: Iterable[MartModel],
    build_schema: str = schemas.MARTS_BUILD,
    published_schema: str = schemas.MARTS,
) -> list[DifferencingFinding]:
    """Every mart that lets a reader of ``mart`` recompute its cells; empty when none does."""
    dimensions = tuple(mart.meta.get("disclosure_groups") or ())
    if not dimensions:
        return [
            DifferencingFinding(
                mart.name, "", (), (), "declare meta.disclosure_groups (the cell dimensions)"
            )
        ]
    mart_readers = set(readers(mart))
    by_name = {m.name: m for m in marts if m.name != mart.name}
    published = {
        t
        for (t,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s",
            (published_schema,),
        ).fetchall()
    }
    findings = []
    for name in sorted(set(by_name) | (published - {mart.name})):
        other = by_name.get(name)
        if other is not None:
            shared = mart_readers & set(readers(other))
        else:
            shared = mart_readers & who_reads(conn, published_schema, name)
        if not shared:
            continue
        if other is not None and other.meta.get("disclosure") == AGGREGATE:
            continue
        columns = _columns(conn, name, (build_schema, published_schema))
        if set(dimensions) <= columns:
            kind = (other.meta.get("disclosure") if other else None) or "undeclared"
            findings.append(
                DifferencingFinding(
                    mart.name,
                    name,
                    tuple(sorted(shared)),
                    dimensions,
                    f"{name} ({kind}) holds {', '.join(dimensions)}: counting its rows rebuilds "
                    f"every cell of {mart.name}, suppressed ones included, for "
                    f"{', '.join(sorted(shared))}",
                )
            )
    return findings
