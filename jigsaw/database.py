"""Which PostgreSQL Jigsaw talks to, and how every tool (SQLAlchemy, psycopg, dbt, Soda) reaches it.

One setting decides: ``JIGSAW_DATABASE_URL``. Without it the standard libpq variables
(``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``) are honoured, and with
neither the project starts an embedded PostgreSQL (the ``pgserver`` package) whose data lives
in the git-ignored state folder, so a machine with only Python works.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from jigsaw.paths import state_dir

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_DATABASE = "jigsaw"
LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class ConnectionParts:
    """A database URL split into the fields that dbt profiles and Soda data sources want."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if self.host.startswith("/"):
            # A socket directory goes in the query string; libpq and SQLAlchemy both accept it.
            query = urlencode({"host": self.host})
            return f"postgresql://{auth}@:{self.port}/{self.dbname}?{query}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"


def parse_url(url: str) -> ConnectionParts:
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    return ConnectionParts(
        host=host,
        port=int(query.get("port", [parts.port or 5432])[0]),
        user=unquote(parts.username or os.environ.get("PGUSER", "postgres")),
        password=unquote(parts.password or ""),
        dbname=(parts.path or "/").lstrip("/") or DEFAULT_DATABASE,
    )


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    parts = parse_url(url)
    return ConnectionParts(parts.host, parts.port, parts.user, parts.password, dbname).url()


def with_user(url: str, user: str, password: str = "") -> str:
    """The same server and database, another role."""
    parts = parse_url(url)
    return ConnectionParts(parts.host, parts.port, user, password, parts.dbname).url()


def sqlalchemy_url(url: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    return urlunsplit(("postgresql+psycopg", netloc, path, query, fragment))


def _url_from_libpq_env() -> str | None:
    if not any(os.environ.get(v) for v in ("PGHOST", "PGPORT", "PGDATABASE")):
        return None
    return ConnectionParts(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=int(os.environ.get("PGPORT", "5432")),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", ""),
        dbname=os.environ.get("PGDATABASE", DEFAULT_DATABASE),
    ).url()


def embedded_server_url() -> str:
    """Start (or reuse) the project's own PostgreSQL and return a URL to its jigsaw database."""
    import pgserver  # imported lazily: only machines without a server need it

    pgdata = state_dir() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None keeps the server up after this process ends, so dbt, Soda and the
    # Dagster UI (other processes) can reach the same database.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    parts = parse_url(admin_url)
    return ConnectionParts(
        parts.host, parts.port, parts.user, parts.password, DEFAULT_DATABASE
    ).url()


def stop_embedded_server() -> bool:
    """Stop the project's own PostgreSQL if it is running; True when there was one to stop."""
    pgdata = state_dir() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    import pgserver

    # The last handle with cleanup_mode "stop" stops the server (pgserver counts handles).
    pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()
    return True


def embedded_server_running() -> bool:
    return (state_dir() / "pgdata" / "postmaster.pid").exists()


@contextmanager
def embedded_server_stopped_after() -> Iterator[None]:
    """For a command that needs a server only while it runs (``make lint``: sqlfluff's dbt
    templater compiles the models, and compiling asks the database about relations). When no
    server is configured (no JIGSAW_DATABASE_URL, no PG*) and the embedded one is not running,
    the embedded server the block starts is stopped when it ends; one already running (``make
    demo``'s, perhaps serving ``make ui``) is left alone. The handle taken here asks pgserver to
    stop the server when its last holder lets go, so a process that took a handle meanwhile
    keeps it up."""
    if os.environ.get("JIGSAW_DATABASE_URL") or _url_from_libpq_env() or embedded_server_running():
        yield
        return
    import pgserver

    pgdata = state_dir() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # Taken before anything resolves the URL: embedded_server_url() then gets this same handle
    # (pgserver keeps one per data folder and process) rather than one that keeps the server up.
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        yield
    finally:
        server.cleanup()


def describe(url: str) -> str:
    """A URL with any password masked, safe to print."""
    parts = parse_url(url)
    shown = ConnectionParts(parts.host, parts.port, parts.user, "", parts.dbname).url()
    if parts.password:
        shown = shown.replace(
            f"{quote(parts.user, safe='')}@", f"{quote(parts.user, safe='')}:***@", 1
        )
    return shown


def _database_url_and_source() -> tuple[str, str]:
    url = os.environ.get("JIGSAW_DATABASE_URL")
    if url:
        return url, "JIGSAW_DATABASE_URL"
    url = _url_from_libpq_env()
    if url:
        return url, "PG* environment variables"
    return embedded_server_url(), f"embedded PostgreSQL in {state_dir() / 'pgdata'}"


def database_url() -> str:
    """The database URL in force: JIGSAW_DATABASE_URL, then PG* variables, then embedded.

    Only reads: it creates no database and changes no environment variable (with neither
    setting it starts the embedded server, the one thing it must do to have an answer). The
    Dagster code reaches the database through ``orchestration.resources.PostgresResource``,
    which calls this.
    """
    return _database_url_and_source()[0]


def resolve_database_url(*, announce: bool = False) -> str:
    """``database_url()`` made ready for a whole process: the database created if missing,
    and the answer written back to JIGSAW_DATABASE_URL and the JIGSAW_DB_* fields so that the
    child processes it starts (dbt, Soda, Dagster runs) agree on it.

    For entry points (the CLIs, the demo, ``make ui``) and library defaults used outside
    Dagster; code inside Dagster uses its ``database`` resource instead.
    """
    url, source = _database_url_and_source()
    ensure_database(url)
    export_connection_env(url)
    if announce:
        print(f"jigsaw: database {describe(url)} ({source})", file=sys.stderr)
    return url


def connection_env(url: str) -> dict[str, str]:
    """The connection as the environment variables dbt's profiles.yml and Soda read."""
    parts = parse_url(url)
    return {
        "JIGSAW_DATABASE_URL": url,
        "JIGSAW_DB_HOST": parts.host,
        "JIGSAW_DB_PORT": str(parts.port),
        "JIGSAW_DB_USER": parts.user,
        "JIGSAW_DB_PASSWORD": parts.password,
        "JIGSAW_DB_NAME": parts.dbname,
    }


def export_connection_env(url: str) -> None:
    """Publish the connection as separate fields for dbt's profiles.yml and Soda."""
    os.environ.update(connection_env(url))


@contextmanager
def environment_restored(names: Iterable[str]) -> Iterator[None]:
    """The environment variables ``names`` are as they were before the block, whatever it set."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def connection_env_for_subprocess(url: str) -> Iterator[None]:
    """The connection in the environment only while a child process (dbt) is started within
    the block; the variables are as they were afterwards."""
    names = connection_env(url)
    with environment_restored(names):
        os.environ.update(names)
        yield


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    return psycopg.connect(url or resolve_database_url(), **kwargs)


def ensure_database(url: str) -> None:
    """Create the URL's database if the server does not have it yet.

    Nobody may connect to it but its owner until ``quality.roles.ensure_roles`` grants CONNECT
    to the project's roles: the server's default lets every role connect to every database.
    """
    parts = parse_url(url)
    admin = with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (parts.dbname,)
        ).fetchone()
        if not exists:
            name = sql.Identifier(parts.dbname)
            conn.execute(sql.SQL("create database {}").format(name))
            revoke = sql.SQL("revoke connect, temporary on database {} from public")
            conn.execute(revoke.format(name))


def drop_database(url: str) -> None:
    parts = parse_url(url)
    admin = with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(parts.dbname))
        )


def server_is_up(url: str) -> bool:
    try:
        with psycopg.connect(with_database(url, "postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def test_server_url() -> str:
    """The server integration tests use: JIGSAW_DATABASE_URL, else 127.0.0.1:5432, else embedded."""
    url = os.environ.get("JIGSAW_DATABASE_URL") or _url_from_libpq_env()
    if url:
        return url
    if server_is_up(LOCAL_SERVER_URL):
        return LOCAL_SERVER_URL
    return embedded_server_url()


# Rows fetched at a time from a server-side cursor, each batch made into a frame before the next
# is fetched: a whole table held as Python tuples takes several times (about 10x for a mart of
# numbers) the frame it becomes.
READ_BATCH_ROWS = 100_000


def read_frame_in_batches(
    conn: psycopg.Connection,
    query: str | sql.Composable,
    params: tuple = (),
    *,
    name: str,
    convert: Callable[[pd.DataFrame, Any], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The query's rows as one frame, fetched ``READ_BATCH_ROWS`` at a time through a
    server-side cursor called ``name``; ``convert(batch, cursor description)`` compacts each
    batch before the next is fetched."""
    import pandas as pd

    batches = []
    # A server-side cursor lives in a transaction; read-only, it commits nothing.
    with conn.transaction(), conn.cursor(name=name) as cursor:
        cursor.execute(query, params)
        description = cursor.description
        names = [d.name for d in description]
        while rows := cursor.fetchmany(READ_BATCH_ROWS):
            batch = pd.DataFrame(rows, columns=names)
            batches.append(convert(batch, description) if convert else batch)
    if not batches:
        return pd.DataFrame([], columns=names)
    return pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
