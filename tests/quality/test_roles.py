"""Each role, over a real connection, can do what it needs and nothing more."""

from __future__ import annotations

import psycopg
import pytest

from jigsaw.database import parse_url, with_user
from quality.access import ANALYST
from quality.roles import ENGINEER, LINKAGE, ensure_roles

DENIED = psycopg.errors.InsufficientPrivilege
RESTRICTED_TABLES = [
    "raw_police.incidents",
    "identity.person_records",
    "ingestion.deliveries",
    "linkage.person_xref",
    "staging.stg_police__incidents",
    "intermediate.int_people_linked",
    "core.dim_person",
    "marts_build.area_summary",
    "quality.check_results",
]


@pytest.fixture()
def granted_url(raw_database_url: str) -> str:
    with psycopg.connect(raw_database_url, autocommit=True) as conn:
        for table in RESTRICTED_TABLES[3:] + ["marts.area_summary"]:
            schema = table.split(".")[0]
            conn.execute(f"create schema if not exists {schema}")
            conn.execute(f"create table if not exists {table} (id integer)")
            conn.execute(f"insert into {table} values (1)")
        ensure_roles(conn, parse_url(raw_database_url).dbname)
        ensure_roles(conn, parse_url(raw_database_url).dbname)  # idempotent
        # Published after the grants were made: default privileges must cover it.
        conn.execute("create table marts.published_later as select 2 as id")
    return raw_database_url


def _as(url: str, role: str) -> psycopg.Connection:
    return psycopg.connect(with_user(url, role), autocommit=True)


def test_analyst_reads_no_table_it_was_not_granted(granted_url):
    """Tables in `marts` are granted one by one when published (tests/quality/test_access.py);
    a table that appears there otherwise, now or later, is not readable."""
    with _as(granted_url, ANALYST) as conn:
        for table in RESTRICTED_TABLES + ["marts.area_summary", "marts.published_later"]:
            with pytest.raises(DENIED):
                conn.execute(f"select * from {table}")
        for statement in [
            "insert into marts.area_summary values (3)",
            "create table marts.mine (id integer)",
            "create table public.mine (id integer)",
        ]:
            with pytest.raises(DENIED):
                conn.execute(statement)


def test_linkage_reads_identity_writes_linkage_but_not_marts(granted_url):
    with _as(granted_url, LINKAGE) as conn:
        conn.execute("select * from identity.person_records")
        conn.execute("insert into linkage.person_xref values (2)")
        conn.execute("create table linkage.scratch (id integer)")
        for statement in [
            "insert into marts.area_summary values (3)",
            "create table marts.mine (id integer)",
            "delete from marts.area_summary",
            "select * from raw_police.incidents",
            "insert into identity.person_records (body) values ('x')",
        ]:
            with pytest.raises(DENIED):
                conn.execute(statement)


def test_engineer_can_do_everything_in_project_schemas(granted_url):
    with _as(granted_url, ENGINEER) as conn:
        for table in RESTRICTED_TABLES + ["marts.area_summary", "linkage.scratch"]:
            if table == "linkage.scratch":
                with _as(granted_url, LINKAGE) as linkage:
                    linkage.execute("create table linkage.scratch (id integer)")
            conn.execute(f"select * from {table}")
        conn.execute("insert into marts.area_summary values (4)")
        conn.execute("create table core.engineer_made (id integer)")
        owner = conn.execute(
            "select nspowner::regrole::text from pg_namespace where nspname = 'marts'"
        ).fetchone()
        assert owner == (ENGINEER,)
