"""The three roles the project creates and maintains, and their grants (least privilege).

    jigsaw_engineer  owns every project schema and can do everything in them
    jigsaw_linkage   reads `identity` and the address gazetteer (`raw_reference`, no personal
                     data), reads and writes `linkage`; nothing else
    jigsaw_analyst   reads `marts`, the published schema, and nothing else

Roles are cluster-wide but grants are per database, so ``ensure_roles`` is run per database and
is idempotent (safe to run on every deployment, and concurrently from two databases).
Passwords come from JIGSAW_<ROLE>_PASSWORD when set; without one the role can still log in
where the server trusts local connections (development and tests).
"""

from __future__ import annotations

import os

import psycopg
from psycopg import Connection, sql

from ingestion.spec import load_specs

ENGINEER = "jigsaw_engineer"
LINKAGE = "jigsaw_linkage"
ANALYST = "jigsaw_analyst"
ROLES = {
    ENGINEER: "JIGSAW_ENGINEER_PASSWORD",
    LINKAGE: "JIGSAW_LINKAGE_PASSWORD",
    ANALYST: "JIGSAW_ANALYST_PASSWORD",
}

PUBLISHED_SCHEMA = "marts"
IDENTITY_SCHEMA = "identity"
LINKAGE_SCHEMA = "linkage"
REFERENCE_SCHEMA = "raw_reference"
PROJECT_SCHEMAS = [
    "identity",
    "ingestion",
    "linkage",
    "staging",
    "intermediate",
    "core",
    "marts_build",
    "marts",
    "quality",
]


def project_schemas() -> list[str]:
    return [spec.raw_schema for spec in load_specs()] + PROJECT_SCHEMAS


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _create_role(conn: Connection, role: str) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    if exists:
        return
    try:
        with conn.transaction():  # a savepoint: another database's tests may win the race
            conn.execute(sql.SQL("create role {} login").format(_ident(role)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        pass


def _set_login(conn: Connection, role: str, password_variable: str) -> None:
    password = os.environ.get(password_variable)
    if password:
        conn.execute(
            sql.SQL("alter role {} login password {}").format(_ident(role), sql.Literal(password))
        )
        return
    # Altering a role rewrites a shared catalogue row: two databases doing it at once fail with
    # "tuple concurrently updated", so only alter when something changes.
    can_login = conn.execute(
        "select rolcanlogin from pg_roles where rolname = %s", (role,)
    ).fetchone()[0]
    if not can_login:
        conn.execute(sql.SQL("alter role {} login").format(_ident(role)))


def ensure_roles(conn: Connection, database: str, schemas: list[str] | None = None) -> None:
    """Create the roles if missing and (re)apply every grant in ``database`` (one transaction)."""
    schemas = schemas or project_schemas()
    with conn.transaction():
        for role, password_variable in ROLES.items():
            _create_role(conn, role)
            _set_login(conn, role, password_variable)
        current = conn.execute("select current_user").fetchone()[0]
        db = _ident(database)
        conn.execute(sql.SQL("revoke all on database {} from public").format(db))
        for role in ROLES:
            conn.execute(sql.SQL("grant connect on database {} to {}").format(db, _ident(role)))
        conn.execute(sql.SQL("grant all on database {} to {}").format(db, _ident(ENGINEER)))
        # Nobody but the engineer may create objects in (or read from) the default schema.
        conn.execute("revoke all on schema public from public")
        conn.execute(sql.SQL("grant all on schema public to {}").format(_ident(ENGINEER)))

        for schema in schemas:
            _engineer_owns(conn, schema, current)

        _grant_read(conn, IDENTITY_SCHEMA, LINKAGE, current)
        # Address matching needs the gazetteer; reference data holds no personal data.
        _grant_read(conn, REFERENCE_SCHEMA, LINKAGE, current)
        _grant_read(conn, LINKAGE_SCHEMA, LINKAGE, current)
        _grant_write(conn, LINKAGE_SCHEMA, LINKAGE, current)
        _grant_read(conn, PUBLISHED_SCHEMA, ANALYST, current)


def _engineer_owns(conn: Connection, schema: str, current: str) -> None:
    s, engineer = _ident(schema), _ident(ENGINEER)
    conn.execute(sql.SQL("create schema if not exists {}").format(s))
    conn.execute(sql.SQL("alter schema {} owner to {}").format(s, engineer))
    conn.execute(sql.SQL("revoke all on schema {} from public").format(s))
    conn.execute(sql.SQL("grant all on all tables in schema {} to {}").format(s, engineer))
    conn.execute(sql.SQL("grant all on all sequences in schema {} to {}").format(s, engineer))
    # Tables the pipeline creates later (it may connect as an administrator) stay the engineer's.
    for owner in {current, ENGINEER}:
        conn.execute(
            sql.SQL(
                "alter default privileges for role {} in schema {} grant all on tables to {}"
            ).format(_ident(owner), s, engineer)
        )


def _grant_read(conn: Connection, schema: str, role: str, current: str) -> None:
    s, r = _ident(schema), _ident(role)
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, r))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, r))
    for owner in {current, ENGINEER}:
        conn.execute(
            sql.SQL(
                "alter default privileges for role {} in schema {} grant select on tables to {}"
            ).format(_ident(owner), s, r)
        )


def _grant_write(conn: Connection, schema: str, role: str, current: str) -> None:
    s, r = _ident(schema), _ident(role)
    conn.execute(sql.SQL("grant create on schema {} to {}").format(s, r))
    conn.execute(
        sql.SQL("grant insert, update, delete, truncate on all tables in schema {} to {}").format(
            s, r
        )
    )
    conn.execute(sql.SQL("grant usage on all sequences in schema {} to {}").format(s, r))
    for owner in {current, ENGINEER}:
        conn.execute(
            sql.SQL(
                "alter default privileges for role {} in schema {} "
                "grant insert, update, delete, truncate on tables to {}"
            ).format(_ident(owner), s, r)
        )
    # What the role creates there itself must stay readable by the engineer who owns the schema.
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL(
                    "alter default privileges for role {} in schema {} grant all on tables to {}"
                ).format(r, s, _ident(ENGINEER))
            )
    except psycopg.errors.InsufficientPrivilege:
        pass  # only a superuser (or a member of the role) may set this; grants above still hold
