"""Where analytics reads and writes: the published marts in, the `analytics` schema and the
restricted `practitioner` schema out.

Analytics reads only `marts` (what analysts are allowed to see), never core or raw: the only
reader here builds its query from a mart name. Study estimates and model metrics go to
`analytics`; record-level outputs meant for a named practice (a damp alert list for the
housing provider, a review list for children's services) go to `practitioner`, which no
general analyst role is granted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from jigsaw import schemas
from jigsaw.database import read_frame_in_batches
from quality.schema import create_once

if TYPE_CHECKING:  # pandas is imported where a frame is made: the Dagster definitions import
    import pandas as pd  # this module for its errors, and every process loads them

ANALYTICS_SCHEMA = schemas.ANALYTICS
PRACTITIONER_SCHEMA = schemas.PRACTITIONER

DDL = f"""
create schema if not exists {ANALYTICS_SCHEMA};
create schema if not exists {PRACTITIONER_SCHEMA};
create table if not exists {ANALYTICS_SCHEMA}.study_estimates (
    study text not null,
    estimate double precision,
    ci_low double precision,
    ci_high double precision,
    method text not null,
    n bigint not null,
    run_id text not null,
    recorded_at timestamptz not null default now()
);
comment on table {ANALYTICS_SCHEMA}.study_estimates is
    'Purpose: research and service planning. Disclosure: aggregate (one row per study estimate). '
    'Each study''s effect estimate with its 95 % interval, the method and the number of units.';
create table if not exists {ANALYTICS_SCHEMA}.model_metrics (
    model text not null,
    split text not null,
    metric text not null,
    value double precision,
    run_id text not null,
    recorded_at timestamptz not null default now()
);
comment on table {ANALYTICS_SCHEMA}.model_metrics is
    'Purpose: early intervention (model assurance). Disclosure: aggregate. '
    'Each model''s evaluation metrics by split (train/test) and run.';
"""


class InsufficientDataError(ValueError):
    """The marts hold too little for the analysis (a small or short region): said, not faked."""


class MartMissingError(LookupError):
    """A mart the analysis needs is not published (run the regional build first)."""


@dataclass(frozen=True)
class StudyEstimate:
    study: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    n: int


def ensure_tables(conn: psycopg.Connection) -> None:
    create_once(conn, DDL)


# PostgreSQL type oids read into numpy columns instead of Python objects.
_INTEGER_OIDS = {20, 21, 23}  # bigint, smallint, integer
_NUMERIC_OID = 1700
_DATE_OID = 1082


def read_mart(
    conn: psycopg.Connection,
    mart: str,
    columns: Iterable[str] | None = None,
    where: sql.Composable | None = None,
) -> pd.DataFrame:
    """A published mart (``marts.<mart>``) as a data frame; nothing else can be read here.

    ``where`` keeps only the rows an analysis uses (its own filter, said in SQL), so the rest
    never reaches this process. Integers come as int64 (float64 with NaN where any is null, as
    pandas makes them from Python values), numerics as float64, dates as datetime64.
    """
    exists = conn.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        (schemas.MARTS, mart),
    ).fetchone()
    if not exists:
        raise MartMissingError(
            f"{schemas.MARTS}.{mart} is not published: run the regional build (make demo) first"
        )
    wanted = sql.SQL(", ").join(sql.Identifier(c) for c in columns) if columns else sql.SQL("*")
    query = sql.SQL("select {} from {}").format(wanted, sql.Identifier(schemas.MARTS, mart))
    if where is not None:
        query = sql.SQL("{} where {}").format(query, where)
    # Each batch made into compact columns before the next is fetched: the 100k region's
    # early_intervention_features (1.2 million rows) took 2 GB as Python tuples.
    return read_frame_in_batches(conn, query, name=f"read_{mart}", convert=_compact)


def _compact(batch: pd.DataFrame, description) -> pd.DataFrame:
    """One batch's columns as the whole mart's would be: the same dtype whichever batch holds
    its nulls (a batch of only nulls would otherwise be an object column)."""
    import pandas as pd

    for column in description:
        values = batch[column.name]
        if column.type_code in _INTEGER_OIDS:
            batch[column.name] = values.astype("float64" if values.isna().any() else "int64")
        elif column.type_code == _NUMERIC_OID:
            batch[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif column.type_code == _DATE_OID:
            batch[column.name] = pd.to_datetime(values)
    return batch


def write_study_estimate(conn: psycopg.Connection, estimate: StudyEstimate, run_id: str) -> None:
    ensure_tables(conn)
    conn.execute(
        f"insert into {ANALYTICS_SCHEMA}.study_estimates "
        "(study, estimate, ci_low, ci_high, method, n, run_id) values (%s, %s, %s, %s, %s, %s, %s)",
        (
            estimate.study,
            estimate.estimate,
            estimate.ci_low,
            estimate.ci_high,
            estimate.method,
            estimate.n,
            run_id,
        ),
    )


def write_model_metrics(
    conn: psycopg.Connection, model: str, split: str, metrics: dict[str, float], run_id: str
) -> None:
    ensure_tables(conn)
    with conn.cursor() as cursor:
        cursor.executemany(
            f"insert into {ANALYTICS_SCHEMA}.model_metrics (model, split, metric, value, run_id) "
            "values (%s, %s, %s, %s, %s)",
            [(model, split, name, float(value), run_id) for name, value in metrics.items()],
        )


def latest_study_estimates(conn: psycopg.Connection) -> dict[str, StudyEstimate]:
    ensure_tables(conn)
    rows = conn.execute(
        f"select distinct on (study) study, estimate, ci_low, ci_high, method, n "
        f"from {ANALYTICS_SCHEMA}.study_estimates order by study, recorded_at desc"
    ).fetchall()
    return {r[0]: StudyEstimate(*r) for r in rows}


def replace_practitioner_table(
    conn: psycopg.Connection,
    table: str,
    frame: pd.DataFrame,
    types: dict[str, str],
    comment: str,
    purpose: str,
) -> int:
    """Replace ``practitioner.<table>`` with ``frame`` in one transaction; returns the row count.

    Readers follow the same rule as a record-level mart (``quality/access.py``): only the
    practitioner role of ``purpose`` may select it, nobody else.
    """
    import pandas as pd

    ensure_tables(conn)
    target = sql.Identifier(PRACTITIONER_SCHEMA, table)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in types.items()
    )
    with conn.transaction():
        conn.execute(sql.SQL("drop table if exists {}").format(target))
        conn.execute(sql.SQL("create table {} ({})").format(target, columns))
        conn.execute(sql.SQL("comment on table {} is {}").format(target, sql.Literal(comment)))
        names = list(types)
        with (
            conn.cursor() as cursor,
            cursor.copy(
                sql.SQL("copy {} ({}) from stdin").format(
                    target, sql.SQL(", ").join(sql.Identifier(n) for n in names)
                )
            ) as copy,
        ):
            for row in frame[names].itertuples(index=False):
                copy.write_row([None if pd.isna(v) else v for v in row])
        _grant_practitioners(conn, table, purpose)
    return len(frame)


def _grant_practitioners(conn: psycopg.Connection, table: str, purpose: str) -> None:
    from quality.access import RECORD_LEVEL, grant_readers
    from quality.manifest import MartModel

    output = MartModel(
        name=table,
        unique_id=f"{PRACTITIONER_SCHEMA}.{table}",
        meta={"purpose": purpose, "disclosure": RECORD_LEVEL},
    )
    for role in grant_readers(conn, output, schema=PRACTITIONER_SCHEMA):
        conn.execute(
            sql.SQL("grant usage on schema {} to {}").format(
                sql.Identifier(PRACTITIONER_SCHEMA), sql.Identifier(role)
            )
        )
