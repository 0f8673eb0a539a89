"""Roles by purpose, over real connections: each role reads exactly the marts its purpose
permits, the rest is refused, and the catalogue check proves it (and fails when it is not so)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from jigsaw import database
from jigsaw.database import parse_url, with_user
from quality.access import (
    ANALYST,
    check_access,
    practitioner_purposes,
    practitioner_role,
    readers,
)
from quality.differencing import check_differencing
from quality.manifest import MartModel
from quality.publish import publish_marts
from quality.roles import _set_login, ensure_roles

DENIED = psycopg.errors.InsufficientPrivilege
EARLY = practitioner_role("early_intervention")
HOUSING = practitioner_role("housing_condition")


def _mart(name: str, purpose: str, disclosure: str) -> MartModel:
    return MartModel(name, f"model.jigsaw.{name}", {"purpose": purpose, "disclosure": disclosure})


HARDSHIP = _mart("hardship_by_area", "financial_inclusion", "aggregate")
FEATURES = _mart("person_features", "early_intervention", "record_level")
DAMP = _mart("damp_homes", "housing_condition", "record_level")
MARTS = [HARDSHIP, FEATURES, DAMP]


def _as(url: str, role: str) -> psycopg.Connection:
    return psycopg.connect(with_user(url, role), autocommit=True)


def _build(conn: psycopg.Connection, marts: list[MartModel]) -> None:
    conn.execute("create schema if not exists marts_build")
    for mart in marts:
        conn.execute(f"drop table if exists marts_build.{mart.name}")
        conn.execute(f"create table marts_build.{mart.name} as select 1 as id")


@pytest.fixture()
def published_url(raw_database_url: str) -> str:
    with psycopg.connect(raw_database_url, autocommit=True) as conn:
        purposes = practitioner_purposes(MARTS)
        ensure_roles(conn, parse_url(raw_database_url).dbname, purposes=purposes)
        _build(conn, MARTS)
        publish_marts(conn, MARTS, run_id="run-1")
    return raw_database_url


def test_readers_follow_each_marts_declared_purpose_and_disclosure():
    assert readers(HARDSHIP) == [ANALYST]
    assert readers(FEATURES) == [EARLY]
    assert readers(DAMP) == [HOUSING]
    assert readers(MartModel("undeclared", "x", {"purpose": "research"})) == []
    assert practitioner_purposes(MARTS) == ["early_intervention", "housing_condition"]
    with pytest.raises(ValueError, match="cannot name a role"):
        practitioner_role("Early; drop role x")


def test_each_role_reads_only_the_marts_its_purpose_permits(published_url):
    allowed = {ANALYST: {HARDSHIP.name}, EARLY: {FEATURES.name}, HOUSING: {DAMP.name}}
    for role, readable in allowed.items():
        with _as(published_url, role) as conn:
            for mart in MARTS:
                statement = f"select id from marts.{mart.name}"
                if mart.name in readable:
                    assert conn.execute(statement).fetchone() == (1,), (role, mart.name)
                else:
                    with pytest.raises(DENIED):
                        conn.execute(statement)
            for statement in (
                f"insert into marts.{next(iter(readable))} values (2)",
                "create table marts.mine (id integer)",
                "select * from marts_build.person_features",
                "select * from identity.person_records",
            ):
                with pytest.raises(DENIED):
                    conn.execute(statement)
    with psycopg.connect(published_url) as conn:
        assert check_access(conn, MARTS) == []


def test_the_access_check_fails_on_a_grant_the_purposes_do_not_permit(published_url):
    with psycopg.connect(published_url, autocommit=True) as conn:
        conn.execute(f"grant select on marts.person_features to {ANALYST}")
        conn.execute(f"grant select on marts.damp_homes to {EARLY}")
        conn.execute("grant select on marts.hardship_by_area to public")
        conn.execute(f"revoke select on marts.hardship_by_area from {ANALYST}")
        conn.execute("create table marts.stray as select 1 as id")
        conn.execute(f"grant select on marts.stray to {HOUSING}")
        found = {(f.role, f.mart): f.reason for f in check_access(conn, MARTS)}
    assert set(found) == {
        (ANALYST, "person_features"),
        (EARLY, "damp_homes"),
        ("PUBLIC", "hardship_by_area"),
        (EARLY, "hardship_by_area"),  # through PUBLIC
        (HOUSING, "hardship_by_area"),
        (HOUSING, "stray"),
    }
    assert "record_level mart" in found[(ANALYST, "person_features")]
    assert "permit purpose early_intervention only" in found[(EARLY, "damp_homes")]
    assert "not a mart of the dbt project" in found[(HOUSING, "stray")]
    # Publishing again puts the grants back to what the meta says.
    with psycopg.connect(published_url, autocommit=True) as conn:
        conn.execute("drop table marts.stray")
        publish_marts(conn, MARTS, run_id="run-2")
        assert check_access(conn, MARTS) == []


def test_a_new_record_level_mart_is_granted_by_the_same_rule(published_url):
    plans = _mart("safeguarding_plans", "safeguarding", "record_level")
    marts = [*MARTS, plans]
    with psycopg.connect(published_url, autocommit=True) as conn:
        roles = ensure_roles(
            conn, parse_url(published_url).dbname, purposes=practitioner_purposes(marts)
        )
        assert practitioner_role("safeguarding") in roles
        _build(conn, [plans])
        [publication] = publish_marts(conn, [plans], run_id="run-3")
        assert publication.readers == (practitioner_role("safeguarding"),)
        assert check_access(conn, marts) == []
    with _as(published_url, practitioner_role("safeguarding")) as conn:
        assert conn.execute("select id from marts.safeguarding_plans").fetchone() == (1,)
        with pytest.raises(DENIED):
            conn.execute("select id from marts.person_features")
    with _as(published_url, ANALYST) as conn, pytest.raises(DENIED):
        conn.execute("select id from marts.safeguarding_plans")


def test_readers_cannot_connect_to_another_project_database(published_url, server_url):
    other = database.with_database(server_url, f"jigsaw_test_{uuid.uuid4().hex[:10]}")
    database.ensure_database(other)
    try:
        for role in (ANALYST, EARLY):
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                psycopg.connect(with_user(other, role)).close()
    finally:
        database.drop_database(other)


def test_readers_cannot_read_restricted_definitions_or_row_counts(published_url):
    with psycopg.connect(published_url, autocommit=True) as conn:
        conn.execute(
            "create or replace view identity.clerical_review_details as"
            " select given_name, family_name from identity.person_records"
        )
        superuser = "select rolsuper from pg_roles where rolname = current_user"
        if not conn.execute(superuser).fetchone()[0]:
            pytest.skip("hiding catalogue views needs the catalogue's owner (a superuser)")
    with _as(published_url, ANALYST) as conn:
        for statement in (
            "select definition from pg_views where viewname = 'clerical_review_details'",
            "select pg_get_viewdef(c.oid) from pg_class as c"
            " where c.relname = 'clerical_review_details'",
            "select ev_action from pg_rewrite limit 1",
            "select relname, n_live_tup from pg_stat_user_tables",
            "select pg_stat_get_live_tuples(c.oid) from pg_class as c"
            " where c.relname = 'person_records'",
        ):
            with pytest.raises(DENIED):
                conn.execute(statement)
        # information_schema lists only what the role may use.
        listed = {
            r[0]
            for r in conn.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
                " where table_schema not in ('pg_catalog', 'information_schema')"
            )
        }
        assert listed == {"marts.hardship_by_area"}
    with _as(published_url, "jigsaw_engineer") as conn:
        definition = conn.execute(
            "select definition from pg_views where viewname = 'clerical_review_details'"
        ).fetchone()[0]
        assert "person_records" in definition


def test_passwords_reach_the_server_only_as_scram_verifiers(conn, monkeypatch):
    role = f"jigsaw_test_{uuid.uuid4().hex[:8]}"
    secret = f"pw-{uuid.uuid4().hex}"
    monkeypatch.setenv("JIGSAW_TEST_PASSWORD", secret)
    conn.execute(f"create role {role} login")
    try:
        _set_login(conn, role, "JIGSAW_TEST_PASSWORD")
        stored = conn.execute(
            "select rolpassword from pg_authid where rolname = %s", (role,)
        ).fetchone()[0]
        assert stored.startswith("SCRAM-SHA-256$4096:")
        assert secret not in stored
    finally:
        conn.rollback()


def test_differencing_gate_fails_while_analysts_can_count_the_suppressed_cell(published_url):
    """The bypass of the issue: an aggregate suppresses 3 people in hardship in area A, and a
    record-level table beside it, readable by the same analyst, counts them back."""
    hardship = MartModel(
        HARDSHIP.name,
        HARDSHIP.unique_id,
        {**HARDSHIP.meta, "disclosure_groups": ["lsoa_code", "month_start"]},
    )
    marts = [hardship, FEATURES, DAMP]
    with psycopg.connect(published_url, autocommit=True) as conn:
        conn.execute(
            "create table marts.features_extract as select 'p' || g as person_key,"
            " 'A' as lsoa_code, date '2026-01-01' as month_start,"
            " g <= 3 as in_financial_hardship from generate_series(1, 40) g"
        )
        conn.execute("drop table marts_build.person_features")
        conn.execute("create table marts_build.person_features as table marts.features_extract")
        # The rule alone: nobody who reads the aggregate reads the record-level mart.
        assert check_differencing(conn, hardship, marts) == []
        conn.execute(f"grant select on marts.features_extract to {ANALYST}")
    with _as(published_url, ANALYST) as analyst:
        recovered = analyst.execute(
            "select count(*) filter (where in_financial_hardship) from marts.features_extract"
            " where lsoa_code = 'A'"
        ).fetchone()[0]
        assert recovered == 3  # what suppression was meant to hide
    with psycopg.connect(published_url, autocommit=True) as conn:
        [finding] = check_differencing(conn, hardship, marts)
        assert (finding.other, finding.roles) == ("features_extract", (ANALYST,))
        assert "counting its rows rebuilds every cell" in finding.detail
        conn.execute(f"revoke select on marts.features_extract from {ANALYST}")
        assert check_differencing(conn, hardship, marts) == []
        # Without its cell dimensions the aggregate cannot be checked: that fails too.
        [undeclared] = check_differencing(conn, HARDSHIP, marts)
        assert "declare meta.disclosure_groups" in undeclared.detail
