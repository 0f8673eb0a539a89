"""The roles the project creates and maintains, and their grants (least privilege).

    jigsaw_engineer  owns every project schema and can do everything in them
    jigsaw_linkage   reads `identity` and the address gazetteer (`raw_reference`, no personal
                     data), reads and writes `linkage`; nothing else
    jigsaw_analyst   reads the aggregate marts in `marts` that passed disclosure control
    jigsaw_practitioner_<purpose>
                     one per purpose a record-level mart declares: reads that purpose's
                     record-level marts (which mart goes to whom: ``quality/access.py``)

Roles are cluster-wide but grants are per database, so ``ensure_roles`` is run per database and
is idempotent (safe to run on every deployment, and concurrently from two databases). Only the
project's roles may connect to the project's database, and the roles that read marts cannot
read the catalogue views that show other schemas' view definitions and row counts.

Passwords come from JIGSAW_<ROLE>_PASSWORD when set; without one the role can still log in
where the server trusts local connections (development and tests). A password never reaches
the server as text: libpq computes its SCRAM-SHA-256 verifier on the client (what psql's
``\\password`` does) and only the verifier is sent, so a server that logs DDL logs no password.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import Connection, sql

from ingestion.spec import load_specs
from jigsaw import schemas as schema_names
from quality.access import ANALYST, practitioner_role

ENGINEER = "jigsaw_engineer"
LINKAGE = "jigsaw_linkage"
ROLES = {
    ENGINEER: "JIGSAW_ENGINEER_PASSWORD",
    LINKAGE: "JIGSAW_LINKAGE_PASSWORD",
    ANALYST: "JIGSAW_ANALYST_PASSWORD",
}

REFERENCE_SCHEMA = schema_names.raw_schema("reference")
PROJECT_SCHEMAS = [
    schema_names.IDENTITY,
    schema_names.INGESTION,
    schema_names.LINKAGE,
    schema_names.STAGING,
    schema_names.INTERMEDIATE,
    schema_names.CORE,
    schema_names.MARTS_BUILD,
    schema_names.MARTS,
    schema_names.QUALITY,
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


def password_variable(role: str) -> str:
    """JIGSAW_ENGINEER_PASSWORD, JIGSAW_PRACTITIONER_HOUSING_CONDITION_PASSWORD, ..."""
    return ROLES.get(role) or f"JIGSAW_{role.removeprefix('jigsaw_').upper()}_PASSWORD"


def password_verifier(conn: Connection, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password``, computed by libpq on this side."""
    return conn.pgconn.encrypt_password(
        password.encode("utf-8"), role.encode("utf-8"), b"scram-sha-256"
    ).decode("ascii")


def _set_login(conn: Connection, role: str, password_variable: str) -> None:
    password = os.environ.get(password_variable)
    if password:
        verifier = password_verifier(conn, role, password)
        conn.execute(
            sql.SQL("alter role {} login password {}").format(_ident(role), sql.Literal(verifier))
        )
        return
    # Altering a role rewrites a shared catalogue row: two databases doing it at once fail with
    # "tuple concurrently updated", so only alter when something changes.
    can_login = conn.execute(
        "select rolcanlogin from pg_roles where rolname = %s", (role,)
    ).fetchone()[0]
    if not can_login:
        conn.execute(sql.SQL("alter role {} login").format(_ident(role)))


def ensure_roles(
    conn: Connection,
    database: str,
    schemas: list[str] | None = None,
    purposes: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """Create the roles if missing and (re)apply every grant in ``database`` (one transaction).

    ``purposes``: those of the record-level marts (``access.practitioner_purposes``); each
    gets its practitioner role. Returns every role the project keeps.
    """
    schemas = schemas or project_schemas()
    roles = [*ROLES, *(practitioner_role(p) for p in purposes)]
    with conn.transaction():
        for role in roles:
            _create_role(conn, role)
            _set_login(conn, role, password_variable(role))
        current = conn.execute("select current_user").fetchone()[0]
        db = _ident(database)
        conn.execute(sql.SQL("revoke all on database {} from public").format(db))
        for role in roles:
            conn.execute(sql.SQL("grant connect on database {} to {}").format(db, _ident(role)))
        conn.execute(sql.SQL("grant all on database {} to {}").format(db, _ident(ENGINEER)))
        # Nobody but the engineer may create objects in (or read from) the default schema.
        conn.execute("revoke all on schema public from public")
        conn.execute(sql.SQL("grant all on schema public to {}").format(_ident(ENGINEER)))

        for schema in schemas:
            _engineer_owns(conn, schema, current)

        _grant_read(conn, schema_names.IDENTITY, LINKAGE, current)
        # Address matching needs the gazetteer; reference data holds no personal data.
        _grant_read(conn, REFERENCE_SCHEMA, LINKAGE, current)
        _grant_read(conn, schema_names.LINKAGE, LINKAGE, current)
        _grant_write(conn, schema_names.LINKAGE, LINKAGE, current)
        readers = [r for r in roles if r not in (ENGINEER, LINKAGE)]
        for role in readers:
            _grant_usage_only(conn, schema_names.MARTS, role, current)
        _hide_catalogue(conn, [ENGINEER, LINKAGE])
    return roles


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


def _grant_usage_only(conn: Connection, schema: str, role: str, current: str) -> None:
    """Usage on the schema; each table is granted when published, by the mart's own meta
    (``access.grant_readers``). Earlier versions granted every table: that is withdrawn."""
    s, r = _ident(schema), _ident(role)
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, r))
    for owner in {current, ENGINEER}:
        conn.execute(
            sql.SQL(
                "alter default privileges for role {} in schema {} revoke select on tables from {}"
            ).format(_ident(owner), s, r)
        )


# Catalogue views and functions that show what other schemas hold: view definitions (SQL that
# may name restricted tables and columns) and row counts. Revoked from PUBLIC in the project's
# database and granted back to the roles that build and link. pg_class itself cannot be revoked
# without breaking every client, so relation names and planner row estimates stay visible.
CATALOGUE_VIEWS = [
    "pg_views",
    "pg_matviews",
    "pg_rewrite",
    "pg_stat_all_tables",
    "pg_stat_user_tables",
    "pg_stat_xact_all_tables",
    "pg_stat_xact_user_tables",
    "pg_statio_all_tables",
    "pg_statio_user_tables",
]
CATALOGUE_FUNCTIONS = [
    "pg_get_viewdef(oid)",
    "pg_get_viewdef(oid, boolean)",
    "pg_get_viewdef(oid, integer)",
    "pg_get_viewdef(text)",
    "pg_get_viewdef(text, boolean)",
    "pg_get_ruledef(oid)",
    "pg_get_ruledef(oid, boolean)",
    "pg_stat_get_live_tuples(oid)",
    "pg_stat_get_dead_tuples(oid)",
    "pg_stat_get_tuples_inserted(oid)",
]


def _hide_catalogue(conn: Connection, builders: list[str]) -> None:
    """Only the catalogue's owner (a superuser) may do this; elsewhere it is reported."""
    is_superuser = conn.execute(
        "select rolsuper from pg_roles where rolname = current_user"
    ).fetchone()[0]
    if not is_superuser:
        return
    grantees = sql.SQL(", ").join(_ident(r) for r in builders)
    for view in CATALOGUE_VIEWS:
        target = sql.Identifier("pg_catalog", view)
        conn.execute(sql.SQL("revoke select on {} from public").format(target))
        conn.execute(sql.SQL("grant select on {} to {}").format(target, grantees))
    for function in CATALOGUE_FUNCTIONS:
        target = sql.SQL("function pg_catalog.{}").format(sql.SQL(function))
        conn.execute(sql.SQL("revoke execute on {} from public").format(target))
        conn.execute(sql.SQL("grant execute on {} to {}").format(target, grantees))


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
