"""Shared Dagster resources. The database URL comes from the environment, never from code.

``DATABASE`` is the database handle of the code location: the ingestion, linkage, dbt,
retention and analytics definitions take it as their ``database`` resource (bound in each defs
module's ``Definitions``: the same object everywhere, as ``Definitions.merge`` requires). The
Soda checks and mart gates still call ``jigsaw.database.database_url()`` themselves, which
has no side effect either; moving them onto the resource changes every test that runs them.
Resolving the URL changes no environment variable; the one thing a run needs done, the
database existing, happens on the resource's first use in a step, not on every call.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from pydantic import Field, PrivateAttr

from jigsaw.database import connection_env_for_subprocess, database_url, ensure_database


class PostgresResource(dg.ConfigurableResource):
    """The project's PostgreSQL; ``url`` empty means JIGSAW_DATABASE_URL (or its fallbacks)."""

    url: str = Field(
        default="",
        description="Database URL; leave empty to resolve it from JIGSAW_DATABASE_URL at run time",
    )

    _made: bool = PrivateAttr(default=False)

    def resolved_url(self) -> str:
        """``url``, else the environment's; a database named by the environment is created on
        its first use in a step (a given ``url`` is taken as it is, as before)."""
        if self.url:
            return self.url
        url = database_url()
        if not self._made:
            ensure_database(url)  # inside the caller's own error handling (a sensor skips)
            self._made = True
        return url

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.resolved_url(), autocommit=autocommit)

    @contextmanager
    def subprocess_env(self) -> Iterator[None]:
        """JIGSAW_DB_* for a child process (dbt reads them in profiles.yml) started in the
        block, and only for it."""
        with connection_env_for_subprocess(self.resolved_url()):
            yield


DATABASE = PostgresResource()
