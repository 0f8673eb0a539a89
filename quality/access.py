"""Who may read each published mart, derived from the mart's own dbt meta, never listed by hand.

    meta.disclosure: aggregate     -> jigsaw_analyst, the general analyst (the mart is published
                                      only once disclosure control and the differencing check
                                      passed)
    meta.disclosure: record_level  -> jigsaw_practitioner_<purpose>, one role per declared
                                      purpose (one row per person, household or property is
                                      for the people doing that work, under its agreements)
    anything else                  -> nobody but the engineer who owns the schema

A new mart is granted by the same rule when it is published (``publish.publish_marts``), and a
new purpose gets its practitioner role at the next ``roles.ensure_roles``. ``check_access``
reads the grants back from the catalogue and proves each role reads only what the rule allows.

Addresses: a record-level mart may carry the UPRN only when every purpose it declares is one
whose work needs the address (``ADDRESS_PURPOSES``); every other mart carries the keyed
``property_key`` instead (``linkage/property_keys.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from psycopg import Connection, sql

from jigsaw import schemas
from quality.manifest import MartModel

ANALYST = "jigsaw_analyst"
PRACTITIONER_PREFIX = "jigsaw_practitioner_"
AGGREGATE = "aggregate"
RECORD_LEVEL = "record_level"
# Purposes whose work needs the address itself: a housing provider sends a surveyor to a home.
ADDRESS_PURPOSES = frozenset({"housing_condition"})
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def practitioner_role(purpose: str) -> str:
    if not _PURPOSE.match(purpose):
        raise ValueError(
            f"purpose {purpose!r} cannot name a role: use lower case letters, digits and _"
        )
    return PRACTITIONER_PREFIX + purpose


def role_purpose(role: str) -> str | None:
    """The one purpose a practitioner role works under (None for any other role)."""
    return role.removeprefix(PRACTITIONER_PREFIX) if role.startswith(PRACTITIONER_PREFIX) else None


def readers(mart: MartModel) -> list[str]:
    """The roles that may read ``mart`` once published."""
    disclosure = mart.meta.get("disclosure")
    if disclosure == AGGREGATE:
        return [ANALYST]
    if disclosure == RECORD_LEVEL:
        return [practitioner_role(p) for p in mart.purposes]
    return []


def may_carry_address(mart: MartModel) -> bool:
    """Whether the mart may hold the UPRN: record level, read only for address purposes."""
    return (
        mart.meta.get("disclosure") == RECORD_LEVEL
        and bool(mart.purposes)
        and set(mart.purposes) <= ADDRESS_PURPOSES
    )


def practitioner_purposes(marts: Iterable[MartModel]) -> list[str]:
    """Every purpose a record-level mart declares: each gets its practitioner role."""
    return sorted(
        {p for m in marts if m.meta.get("disclosure") == RECORD_LEVEL for p in m.purposes}
    )


def why_not(role: str, mart: MartModel | None) -> str | None:
    """None when ``role`` may read ``mart``; else the reason it may not."""
    if mart is None:
        return "not a mart of the dbt project: no declared purpose or disclosure level"
    if role in readers(mart):
        return None
    disclosure = mart.meta.get("disclosure") or "(undeclared)"
    if role == ANALYST:
        return f"{disclosure} mart: general analysts read only aggregates under disclosure control"
    purpose = role_purpose(role)
    if purpose is not None:
        if disclosure == AGGREGATE:
            return "aggregate mart: read by general analysts, not by practitioners"
        return (
            f"the role's agreements permit purpose {purpose} only; the mart's purpose is "
            f"{', '.join(mart.purposes) or '(none)'}"
        )
    return "not a reader role"


@dataclass(frozen=True)
class AccessFinding:
    role: str
    mart: str
    reason: str

    def as_dict(self) -> dict:
        return {"role": self.role, "mart": self.mart, "reason": self.reason}


def reader_roles(conn: Connection) -> list[str]:
    """The analyst and practitioner roles that exist on the server."""
    return [
        r
        for (r,) in conn.execute(
            "select rolname from pg_roles where rolname = %s or rolname like %s order by 1",
            (ANALYST, PRACTITIONER_PREFIX.replace("_", r"\_") + "%"),
        ).fetchall()
    ]


def published_tables(conn: Connection, schema: str) -> list[str]:
    return [
        t
        for (t,) in conn.execute(
            "select c.relname from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p') order by 1",
            (schema,),
        ).fetchall()
    ]


def _can_select(conn: Connection, role: str, schema: str, table: str) -> bool:
    relation = sql.Identifier(schema, table).as_string(conn)
    return conn.execute(
        "select has_table_privilege(%s, %s, 'select') and has_schema_privilege(%s, %s, 'usage')",
        (role, relation, role, schema),
    ).fetchone()[0]


def _public_can_select(conn: Connection, schema: str, table: str) -> bool:
    return conn.execute(
        "select exists (select 1 from pg_class as c join pg_namespace as n"
        " on n.oid = c.relnamespace, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner)))"
        " as acl where n.nspname = %s and c.relname = %s and acl.grantee = 0"
        " and acl.privilege_type = 'SELECT')",
        (schema, table),
    ).fetchone()[0]


def who_reads(conn: Connection, schema: str, table: str) -> set[str]:
    """The reader roles that can select from ``schema.table`` now (membership included)."""
    return {r for r in reader_roles(conn) if _can_select(conn, r, schema, table)}


def check_access(
    conn: Connection, marts: Iterable[MartModel], schema: str = schemas.MARTS
) -> list[AccessFinding]:
    """Every grant in ``schema`` the rule does not allow, and every reader the rule names that
    cannot read its mart: an empty list proves the grants are exactly the rule."""
    by_name = {m.name: m for m in marts}
    findings = []
    for table in published_tables(conn, schema):
        if table.startswith("_publishing_"):
            continue  # a swap in progress, never granted
        mart = by_name.get(table)
        if _public_can_select(conn, schema, table):
            findings.append(AccessFinding("PUBLIC", table, "every role can read it"))
        for role in sorted(who_reads(conn, schema, table)):
            reason = why_not(role, mart)
            if reason:
                findings.append(AccessFinding(role, table, reason))
        for role in readers(mart) if mart else []:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            if exists is None or not _can_select(conn, role, schema, table):
                findings.append(AccessFinding(role, table, "a reader by the rule cannot read it"))
    return findings


def grant_readers(conn: Connection, mart: MartModel, schema: str = schemas.MARTS) -> list[str]:
    """Make the reader grants on ``schema.<mart>`` exactly the rule's; returns the readers."""
    relation = sql.Identifier(schema, mart.name)
    conn.execute(sql.SQL("revoke all on {} from public").format(relation))
    wanted = set(readers(mart))
    existing = set(reader_roles(conn))
    for role in sorted(existing - wanted):
        conn.execute(sql.SQL("revoke all on {} from {}").format(relation, sql.Identifier(role)))
    granted = sorted(wanted & existing)
    for role in granted:
        conn.execute(sql.SQL("grant select on {} to {}").format(relation, sql.Identifier(role)))
    return granted
