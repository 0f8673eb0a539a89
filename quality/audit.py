"""Who read what: every statement of the roles that read marts, from PostgreSQL's own log.

Two ways to record, chosen by what the server has:

    pgaudit    the extension (Debian: postgresql-15-pgaudit) in shared_preload_libraries:
               ``pgaudit.log = 'read'`` and ``pgaudit.log_relation = on`` set on each reader
               role, so every read is one AUDIT line naming the relation
    statement  any server: ``log_statement = 'all'`` set on each reader role, so every
               statement is logged and the relations are read from its SQL (sqlglot)

Both need the server to write its log as CSV (``log_destination = 'csvlog'``, with the logging
collector on): that is the server administrator's one-time setting, like
shared_preload_libraries. ``collect`` reads the log through the server itself
(``pg_ls_logdir``, ``pg_read_file``: a superuser or a member of pg_read_server_files), so no
file system access is needed, and appends to ``quality.access_log`` what it has not seen yet;
the view ``quality.who_read_what`` is the data protection officer's summary. Refused attempts
(permission denied) are recorded too.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlglot
from psycopg import Connection, sql
from sqlglot import exp

from quality.schema import require_quality_schema

PGAUDIT = "pgaudit"
STATEMENT = "statement"
# csvlog columns (PostgreSQL 13 to 16 share the first fourteen)
LOG_TIME, USER, DATABASE, CONNECTION_FROM, SEVERITY, SQLSTATE, MESSAGE = 0, 1, 2, 4, 11, 12, 13
DENIED = re.compile(r"^permission denied for (table|view|schema|relation|database) (\S+)")


@dataclass(frozen=True)
class Access:
    read_at: str  # as the server logged it, with its time zone
    who: str
    database: str
    connection_from: str
    relation: str | None
    outcome: str
    method: str
    statement: str
    log_line: int


def method_available(conn: Connection) -> str:
    """``pgaudit`` when the server preloads it, else ``statement``."""
    preloaded = conn.execute("show shared_preload_libraries").fetchone()[0]
    return PGAUDIT if PGAUDIT in [p.strip() for p in preloaded.split(",")] else STATEMENT


def enable_audit(conn: Connection, roles: Iterable[str], method: str | None = None) -> str:
    """Record every statement of ``roles`` in this database from their next session on
    (superuser only: these settings are the server administrator's); returns the method."""
    method = method or method_available(conn)
    settings = (
        {"pgaudit.log": "read", "pgaudit.log_relation": "on", "pgaudit.log_statement_once": "off"}
        if method == PGAUDIT
        else {"log_statement": "all"}
    )
    if method == PGAUDIT:
        conn.execute("create extension if not exists pgaudit")
    database = conn.execute("select current_database()").fetchone()[0]
    for role in roles:
        for name, value in settings.items():
            conn.execute(
                sql.SQL("alter role {} in database {} set {} = {}").format(
                    sql.Identifier(role),
                    sql.Identifier(database),
                    sql.SQL(name),
                    sql.Literal(value),
                )
            )
    return method


def _relations(statement: str) -> list[str]:
    try:
        parsed = sqlglot.parse(statement, read="postgres")
    except sqlglot.errors.ParseError:
        return []
    found = {
        f"{table.db}.{table.name}" if table.db else table.name
        for tree in parsed
        if tree is not None
        for table in tree.find_all(exp.Table)
        if table.name
    }
    return sorted(found)


def parse_csvlog(text: str, roles: set[str]) -> Iterator[Access]:
    """The reads and refusals of ``roles`` in one csvlog file's text."""
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) <= MESSAGE or row[USER] not in roles:
            continue
        common = (row[LOG_TIME], row[USER], row[DATABASE], row[CONNECTION_FROM])
        message = row[MESSAGE]
        if message.startswith("AUDIT: "):
            fields = next(csv.reader([message.removeprefix("AUDIT: ")]))
            relation = fields[6] or None
            yield Access(*common, relation, "read", PGAUDIT, fields[7], number)
        elif message.startswith("statement: "):
            statement = message.removeprefix("statement: ")
            for relation in _relations(statement) or [None]:
                yield Access(*common, relation, "read", STATEMENT, statement, number)
        elif row[SQLSTATE] == "42501" and (denied := DENIED.match(message)):
            statement = row[19] if len(row) > 19 else ""
            yield Access(*common, denied.group(2), "refused", "error", statement, number)


def collect(conn: Connection, roles: Iterable[str]) -> dict:
    """Append to quality.access_log what the server's csv logs hold and it has not yet."""
    require_quality_schema(conn)
    destinations = conn.execute("show log_destination").fetchone()[0]
    collector = conn.execute("show logging_collector").fetchone()[0]
    if "csvlog" not in destinations.split(",") or collector != "on":
        # No CSV log to read (the embedded demo server, a default Debian cluster). Its log
        # directory may even be a file of another program's (pgserver writes "log"): not read.
        why = f"log_destination = '{destinations}', logging_collector = {collector}"
        return {"log_files": 0, "accesses_added": 0, "not_collected": why}
    log_directory = conn.execute("show log_directory").fetchone()[0]
    files = [
        name
        for (name,) in conn.execute(
            "select name from pg_ls_logdir() where name like '%%.csv' order by name"
        ).fetchall()
    ]
    wanted, added = set(roles), 0
    with conn.transaction():
        for name in files:
            text = conn.execute("select pg_read_file(%s)", (f"{log_directory}/{name}",)).fetchone()[
                0
            ]
            with conn.cursor() as cursor:
                for access in parse_csvlog(text, wanted):
                    cursor.execute(
                        "insert into quality.access_log (read_at, who, database_name,"
                        " connection_from, relation, outcome, method, statement, log_file,"
                        " log_line) values (%s::timestamptz, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        " on conflict do nothing",
                        (
                            access.read_at,
                            access.who,
                            access.database,
                            access.connection_from,
                            access.relation,
                            access.outcome,
                            access.method,
                            access.statement,
                            name,
                            access.log_line,
                        ),
                    )
                    added += cursor.rowcount
    return {"log_files": len(files), "accesses_added": added}
