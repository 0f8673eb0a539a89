"""Shared Dagster resources. The database URL comes from the environment, never from code.

``DATABASE`` is the one database handle of the code location: every asset, asset check, sensor
and op that reads or writes PostgreSQL (ingestion, Soda checks, mart gates and publishing,
roles, linkage, dbt, retention, analytics) takes it as its ``database`` resource, bound in each
defs module's ``Definitions`` (the same object everywhere, as ``Definitions.merge`` requires).

The URL is resolved when Dagster sets the resource up (once per step process, sensor tick or
in-process run, where the environment is read as the run sees it) and only read: it creates no
database and changes no environment variable. Creating the database is a start-up step of the
process that launches the runs (``jigsaw.database.resolve_database_url`` in the CLIs, the demo
and ``make ui``). dbt runs as a child process and gets the connection as JIGSAW_DB_* in its
environment, for that process only (``subprocess_env``); Soda runs in this process and is given
the URL itself (``quality.soda_runner.verify_contracts``), so neither reads a URL of its own.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from pydantic import Field, PrivateAttr

from jigsaw.database import connection_env_for_subprocess, database_url


class PostgresResource(dg.ConfigurableResource):
    """The project's PostgreSQL; ``url`` empty means JIGSAW_DATABASE_URL (or its fallbacks)."""

    url: str = Field(
        default="",
        description="Database URL; leave empty to resolve it from JIGSAW_DATABASE_URL at run time",
    )

    _resolved: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Once per step (or tick): every connection the step opens goes to the same database.
        self._resolved = self.url or database_url()

    def resolved_url(self) -> str:
        """``url``, else the environment's, as resolved when the resource was set up."""
        return self._resolved or self.url or database_url()

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.resolved_url(), autocommit=autocommit)

    @contextmanager
    def subprocess_env(self) -> Iterator[None]:
        """JIGSAW_DB_* for a child process (dbt reads them in profiles.yml) started in the
        block, and only for it."""
        with connection_env_for_subprocess(self.resolved_url()):
            yield


DATABASE = PostgresResource()
