"""Publish marts: swap marts_build.<mart> into marts.<mart> in one transaction.

Analysts read `marts` only. A mart is copied under a temporary name inside `marts`, then the old
table is dropped and the copy renamed, all in one transaction: a reader sees the old version or
the new one, never a half-built table, and a failure anywhere leaves the old version in place.
Every publication is recorded in quality.publications. Who may read each published mart
follows from the mart's meta (``quality/access.py``): the grants are made in the same
transaction, so a mart is never visible, even for a moment, to a role the rule does not name.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection, sql

from jigsaw import schemas
from quality.access import grant_readers
from quality.manifest import MartModel
from quality.roles import ENGINEER
from quality.schema import create_once, require_quality_schema


@dataclass(frozen=True)
class Publication:
    mart: str
    row_count: int
    run_id: str | None
    readers: tuple[str, ...] = ()


def _role_exists(conn: Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def publish_marts(
    conn: Connection, marts: list[MartModel], run_id: str | None = None
) -> list[Publication]:
    """Publish every mart in ``marts`` together, or none of them."""
    publications = []
    require_quality_schema(conn)
    if conn.execute("select to_regnamespace(%s) is null", (schemas.MARTS,)).fetchone()[0]:
        create_once(conn, f"create schema if not exists {schemas.MARTS}")
    with conn.transaction():
        engineer = _role_exists(conn, ENGINEER)
        for model in marts:
            publication = _swap(conn, model.name, engineer, run_id)
            readers = grant_readers(conn, model, schemas.MARTS)
            publications.append(
                Publication(publication.mart, publication.row_count, run_id, tuple(readers))
            )
    return publications


def _swap(conn: Connection, mart: str, engineer: bool, run_id: str | None) -> Publication:
    staged = f"_publishing_{mart}"[:63]
    target = sql.Identifier(schemas.MARTS, mart)
    temporary = sql.Identifier(schemas.MARTS, staged)
    conn.execute(sql.SQL("drop table if exists {}").format(temporary))
    conn.execute(
        sql.SQL("create table {} as table {}").format(
            temporary, sql.Identifier(schemas.MARTS_BUILD, mart)
        )
    )
    _copy_comments(conn, mart, temporary)
    row_count = conn.execute(sql.SQL("select count(*) from {}").format(temporary)).fetchone()[0]
    conn.execute(sql.SQL("drop table if exists {}").format(target))
    conn.execute(sql.SQL("alter table {} rename to {}").format(temporary, sql.Identifier(mart)))
    if engineer:
        conn.execute(sql.SQL("grant all on {} to {}").format(target, sql.Identifier(ENGINEER)))
    conn.execute(
        "insert into quality.publications (mart, row_count, run_id) values (%s, %s, %s)",
        (mart, row_count, run_id),
    )
    return Publication(mart=mart, row_count=row_count, run_id=run_id)


def _copy_comments(conn: Connection, mart: str, copy: sql.Composable) -> None:
    """dbt persists model and column descriptions on the build table; analysts need them too."""
    source = f"{schemas.MARTS_BUILD}.{sql.Identifier(mart).as_string(conn)}"
    table_comment = conn.execute("select obj_description(%s::regclass)", (source,)).fetchone()[0]
    if table_comment:
        conn.execute(sql.SQL("comment on table {} is {}").format(copy, sql.Literal(table_comment)))
    columns = conn.execute(
        "select attname, col_description(attrelid, attnum) from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped "
        "and col_description(attrelid, attnum) is not null",
        (source,),
    ).fetchall()
    for column, comment in columns:
        conn.execute(
            sql.SQL("comment on column {}.{} is {}").format(
                copy, sql.Identifier(column), sql.Literal(comment)
            )
        )


def published_version(conn: Connection, mart: str) -> dict | None:
    """The latest publication of ``mart``, or None if it was never published."""
    row = conn.execute(
        "select row_count, run_id, published_at from quality.publications "
        "where mart = %s order by published_at desc, id desc limit 1",
        (mart,),
    ).fetchone()
    if row is None:
        return None
    return {"row_count": row[0], "run_id": row[1], "published_at": row[2]}
