"""Shared Dagster resources. The database URL comes from the environment, never from code."""

import psycopg
from dagster import ConfigurableResource
from pydantic import Field

from jigsaw.database import resolve_database_url


class PostgresResource(ConfigurableResource):
    """The project's PostgreSQL; ``url`` empty means JIGSAW_DATABASE_URL (or its fallbacks)."""

    url: str = Field(
        default="",
        description="Database URL; leave empty to resolve it from JIGSAW_DATABASE_URL at run time",
    )

    def resolved_url(self) -> str:
        return self.url or resolve_database_url()

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.resolved_url(), autocommit=autocommit)
