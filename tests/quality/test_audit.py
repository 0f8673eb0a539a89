"""Every read by an analyst or practitioner is recorded, on a server of the test's own with
pgaudit preloaded and CSV logs (the shared server is never reconfigured): the pgaudit way for
one role, the log_statement way (any server) for another; refusals too; and a role's password,
set through ensure_roles, reaches the server's log only as its SCRAM verifier."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from jigsaw.database import ConnectionParts, ensure_database
from quality.access import ANALYST, practitioner_role
from quality.audit import PGAUDIT, STATEMENT, collect, enable_audit
from quality.manifest import MartModel
from quality.publish import publish_marts
from quality.roles import ensure_roles

VERSION = "15"
PGAUDIT_LIBRARY = Path(f"/usr/lib/postgresql/{VERSION}/lib/pgaudit.so")
EARLY = practitioner_role("early_intervention")
HARDSHIP = MartModel("hardship_by_area", "m.h", {"purpose": "x", "disclosure": "aggregate"})
FEATURES = MartModel(
    "person_features", "m.f", {"purpose": "early_intervention", "disclosure": "record_level"}
)
AUDIT_CONF = """
shared_preload_libraries = 'pgaudit'
logging_collector = on
log_destination = 'csvlog'
log_directory = 'log'
log_statement = 'ddl'
listen_addresses = '127.0.0.1'
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def audit_server() -> str:
    if shutil.which("pg_createcluster") is None or not PGAUDIT_LIBRARY.exists():
        pytest.skip(
            f"needs pg_createcluster and postgresql-{VERSION}-pgaudit (.ci/run installs it: "
            f"apt-get install postgresql-{VERSION}-pgaudit)"
        )
    if os.geteuid() != 0:
        pytest.skip("pg_createcluster needs root to make a cluster of the test's own")
    name, port = f"jigsaw_audit_{uuid.uuid4().hex[:6]}", _free_port()
    subprocess.run(
        ["pg_createcluster", VERSION, name, "-p", str(port), "--",
         "--auth-local=trust", "--auth-host=scram-sha-256"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        Path(f"/etc/postgresql/{VERSION}/{name}/conf.d/audit.conf").write_text(AUDIT_CONF)
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", VERSION, name, "start"],
            check=True,
            capture_output=True,
        )
        url = ConnectionParts("/var/run/postgresql", port, "postgres", "", "jigsaw").url()
        ensure_database(url)
        yield url
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", VERSION, name], check=False, capture_output=True
        )


def _parts(url: str) -> ConnectionParts:
    from jigsaw.database import parse_url

    return parse_url(url)


def test_reads_and_refusals_are_recorded_and_passwords_never_logged(audit_server, monkeypatch):
    secret, other_secret = f"pw-{uuid.uuid4().hex}", f"pw-{uuid.uuid4().hex}"
    monkeypatch.setenv("JIGSAW_ANALYST_PASSWORD", secret)
    monkeypatch.setenv("JIGSAW_PRACTITIONER_EARLY_INTERVENTION_PASSWORD", other_secret)
    with psycopg.connect(audit_server, autocommit=True) as conn:
        ensure_roles(conn, "jigsaw", purposes=["early_intervention"])
        conn.execute("create table identity.person_records (given_name text)")
        conn.execute("create schema if not exists marts_build")
        for mart in (HARDSHIP, FEATURES):
            conn.execute(f"create table marts_build.{mart.name} as select 1 as id")
        publish_marts(conn, [HARDSHIP, FEATURES])
        assert enable_audit(conn, [ANALYST]) == PGAUDIT
        assert enable_audit(conn, [EARLY], method=STATEMENT) == STATEMENT

    port = _parts(audit_server).port
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host="127.0.0.1", port=port, dbname="jigsaw", user=ANALYST,
                        password="wrong")  # fmt: skip
    with psycopg.connect(host="127.0.0.1", port=port, dbname="jigsaw", user=ANALYST,
                         password=secret, autocommit=True) as analyst:  # fmt: skip
        assert analyst.execute("select id from marts.hardship_by_area").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("select * from marts.person_features")
    with psycopg.connect(host="127.0.0.1", port=port, dbname="jigsaw", user=EARLY,
                         password=other_secret, autocommit=True) as practitioner:  # fmt: skip
        practitioner.execute("select count(*) from marts.person_features as f")

    expected = {
        (ANALYST, "marts.hardship_by_area", "read", PGAUDIT),
        (ANALYST, "person_features", "refused", "error"),
        (EARLY, "marts.person_features", "read", STATEMENT),
    }
    with psycopg.connect(audit_server, autocommit=True) as conn:
        deadline = time.monotonic() + 10
        while True:  # the logging collector writes a moment later
            collect(conn, [ANALYST, EARLY])
            found = set(
                conn.execute(
                    "select who, relation, outcome, method from quality.access_log"
                ).fetchall()
            )
            if expected <= found or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert expected <= found, found
        who = conn.execute(
            "select statements, last_read_at is not null from quality.who_read_what"
            " where who = %s and relation = 'marts.hardship_by_area'",
            (ANALYST,),
        ).fetchone()
        assert who == (1, True)
        assert collect(conn, [ANALYST, EARLY])["accesses_added"] == 0  # nothing twice

        everything = "".join(
            text
            for (text,) in conn.execute(
                "select pg_read_file('log/' || name) from pg_ls_logdir()"
            ).fetchall()
        )
    assert "SCRAM-SHA-256$4096:" in everything  # the DDL was logged, with a verifier
    assert secret not in everything and other_secret not in everything


def test_the_access_log_asset_says_when_the_server_writes_no_csv_log(
    fresh_database_url,
):
    """On a server without CSV logs (the shared test server), the roles are still set up for
    auditing and the asset succeeds, saying that nothing could be collected."""
    import dagster as dg

    from orchestration.factories.quality_gates import access_log, build_roles_asset
    from orchestration.resources import PostgresResource

    roles = build_roles_asset([FEATURES, HARDSHIP])
    result = dg.materialize(
        [roles, access_log], resources={"database": PostgresResource(url=fresh_database_url)}
    )
    assert result.success
    events = {e.asset_key.path[-1]: e for e in result.get_asset_materialization_events()}
    metadata = events["database_roles"].materialization.metadata
    assert metadata["audit"].value in (PGAUDIT, STATEMENT)
    assert EARLY in metadata["roles"].value
    collected = events["access_log"].materialization.metadata
    assert collected["accesses_added"].value == 0
    # Said from the server's settings, before its log directory is listed: the embedded demo
    # server's "log" is a file, and listing it failed the regional build.
    assert "log_destination = " in collected["not_collected"].value
    with psycopg.connect(fresh_database_url) as conn:
        settings = conn.execute(
            "select r.rolname, s.setconfig from pg_db_role_setting as s"
            " join pg_roles as r on r.oid = s.setrole"
            " join pg_database as d on d.oid = s.setdatabase where d.datname = current_database()"
        ).fetchall()
    audited = {role for role, config in settings if any("log" in c for c in config)}
    assert {ANALYST, EARLY} <= audited
