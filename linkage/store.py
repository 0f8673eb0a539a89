"""The linkage schema in PostgreSQL: what a run reads back and writes.

Only pseudonymous values live here (tokens, keys, UPRNs, scores); clear identifiers stay in
`identity`. The reviewer's view with names side by side is `identity.clerical_review_details`.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import psycopg

from jigsaw import schemas
from jigsaw.database import read_frame_in_batches
from linkage.standardise import STANDARD_FIELDS

LINKAGE_DDL = """
create schema if not exists linkage;
create table if not exists linkage.runs (
    run_id serial primary key,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    status text not null default 'running',
    backend text,
    stats jsonb
);
create table if not exists linkage.person_keys (
    person_key text primary key,
    created_run integer not null,
    retired_run integer,
    merged_into text
);
-- The keyed pseudonymous key of each property (linkage/property_keys.py).
create table if not exists linkage.property_keys (
    uprn text primary key,
    property_key text not null unique
);
create table if not exists linkage.person_xref (
    body text not null,
    person_ref_token text not null,
    person_key text not null,
    method text not null
        check (method in ('nhs_number', 'probabilistic', 'clerical', 'singleton')),
    match_probability double precision,
    run_id integer not null,
    primary key (body, person_ref_token)
);
create index if not exists person_xref_key on linkage.person_xref (person_key);
create table if not exists linkage.person_key_events (
    run_id integer not null,
    event text not null check (event in ('merge', 'split')),
    person_key text not null,
    other_key text not null,
    records integer not null,
    recorded_at timestamptz not null default now()
);
create table if not exists linkage.clerical_review (
    body_l text not null,
    person_ref_token_l text not null,
    body_r text not null,
    person_ref_token_r text not null,
    match_probability double precision not null,
    match_weight double precision,
    evidence jsonb not null,
    person_key_l text,
    person_key_r text,
    run_id integer not null,
    primary key (body_l, person_ref_token_l, body_r, person_ref_token_r)
);
create table if not exists linkage.review_decisions (
    body_l text not null,
    person_ref_token_l text not null,
    body_r text not null,
    person_ref_token_r text not null,
    decision text not null check (decision in ('match', 'non_match')),
    reviewer text not null,
    decided_at timestamptz not null default now(),
    applied_run integer,
    primary key (body_l, person_ref_token_l, body_r, person_ref_token_r)
);
create table if not exists linkage.address_xref (
    body text not null,
    entity text not null,
    _delivery_id text not null,
    _first_row_number integer not null,
    person_ref_token text not null,
    uprn text,
    method text not null check (method in ('given', 'address_match', 'unmatched')),
    score double precision,
    -- the rows carrying the record when its reference carries several records in the
    -- delivery (identity.record_rows); null when it carries one: all its rows carry it
    _source_row_numbers integer[],
    primary key (body, entity, _delivery_id, _first_row_number)
);
create index if not exists address_xref_uprn on linkage.address_xref (uprn);
-- One row per identity record (identity.person_records' grain) since identity holds each
-- distinct record once per delivery; a table of the former layout (one row per delivered row)
-- is renamed in place and refilled by the next run.
do $$ begin
    if exists (
        select from information_schema.columns where table_schema = 'linkage'
            and table_name = 'address_xref' and column_name = '_source_row_number'
    ) then
        alter table linkage.address_xref rename column _source_row_number to _first_row_number;
    end if;
end $$;
alter table linkage.address_xref add column if not exists _source_row_numbers integer[];
"""

# For reviewers only (the identity schema is restricted): each open pair with the clear
# values of both records, as most recently delivered.
REVIEW_DETAILS_VIEW = f"""
create or replace view identity.clerical_review_details as
with wanted as (
    select body_l as body, person_ref_token_l as person_ref_token from linkage.clerical_review
    union
    select body_r, person_ref_token_r from linkage.clerical_review
),
latest as (
    -- One scan of identity for all pairs: identity keeps no token index (it slows loading).
    select distinct on (p.body, p.person_ref_token) p.*
    from identity.person_records as p
    inner join wanted as w on w.body = p.body and w.person_ref_token = p.person_ref_token
    order by p.body, p.person_ref_token, p._period desc, p._loaded_at desc,
        p._first_row_number desc
)
select r.*,
    {", ".join(f"l.{f} as {f}_l" for f in STANDARD_FIELDS)},
    {", ".join(f"rr.{f} as {f}_r" for f in STANDARD_FIELDS)}
from linkage.clerical_review as r
inner join latest as l on l.body = r.body_l and l.person_ref_token = r.person_ref_token_l
inner join latest as rr on rr.body = r.body_r and rr.person_ref_token = r.person_ref_token_r
"""

# identity holds each distinct record once per delivery, and identity.record_row_counts the
# delivered rows carrying those carried by more than one (`_rows`): `rows` counts the delivered
# rows that carried a combination of values, the weight linkage.records gives it. Ordered
# because linkage's result depends on the order of its records (ties in collapsing, and the
# linker itself): the same identity in another physical order (a migrated or minimised table,
# another plan) must link the same way.
_PERSON_ROWS_COLUMNS = ", ".join(map(str, range(1, len(STANDARD_FIELDS) + 3)))
PERSON_ROWS_SQL = f"""
select body as source, person_ref_token as record_id, {", ".join(STANDARD_FIELDS)},
    sum(coalesce(counts._rows, 1)) as rows, max(_period) as last_period
from identity.person_records
left join identity.record_row_counts as counts
    using (body, entity, _delivery_id, _first_row_number)
group by {_PERSON_ROWS_COLUMNS}
order by {_PERSON_ROWS_COLUMNS}
"""


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create (or update) the linkage tables and the reviewers' view, in a transaction of its own.

    DDL locks the tables it names (``create index if not exists`` a share lock, ``create or
    replace view`` an exclusive one) until its transaction ends, so it runs once per regional
    build (the ``linkage/schema`` asset), before the linkage steps, never inside one.
    """
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('jigsaw:linkage-ddl'))")
        conn.execute(LINKAGE_DDL)
        if table_exists(conn, schemas.IDENTITY, "person_records"):
            try:
                with conn.transaction():  # a savepoint: a role without create on identity skips it
                    conn.execute(REVIEW_DETAILS_VIEW)
            except psycopg.errors.InsufficientPrivilege:
                pass


def require_schema(conn: psycopg.Connection) -> None:
    """For a linkage step: no DDL when the schema exists (made by ``ensure_schema`` once per
    build), so steps running side by side never hold DDL locks on each other's tables; made
    here, committed on its own, only on first use (the CLI, tests)."""
    present = table_exists(
        conn, schemas.LINKAGE, "address_xref"
    )  # the last table LINKAGE_DDL makes
    if not conn.autocommit:
        conn.commit()  # the step's own work starts in a transaction of its own
    if not present:
        ensure_schema(conn)


def table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return conn.execute(
        "select to_regclass(%s) is not null", (f'"{schema}"."{table}"',)
    ).fetchone()[0]


def read_frame(conn: psycopg.Connection, query: str, params: tuple = ()) -> pd.DataFrame:
    """The query's rows as a frame, read in batches (every person record as Python tuples at
    once, millions at a million residents, would take several times the frame they become);
    the columns' types are those of one frame made from all the rows (a batch whose column is
    all null would otherwise keep it object)."""
    frame = read_frame_in_batches(conn, query, params, name="linkage_read_frame")
    return frame.infer_objects()


def copy_rows(
    conn: psycopg.Connection, table: str, columns: list[str], frame: pd.DataFrame
) -> None:
    """COPY a frame into a table: the fast path for tens of thousands of rows."""
    if frame.empty:
        return
    buffer = io.StringIO()
    frame[[c.strip('"') for c in columns]].to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    with conn.cursor().copy(
        f"copy {table} ({', '.join(columns)}) from stdin with (format csv, null '\\N')"
    ) as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def ordered_pair(a: tuple[str, str], b: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    return (a, b) if a <= b else (b, a)


def read_decisions(conn: psycopg.Connection) -> pd.DataFrame:
    return read_frame(
        conn,
        "select body_l, person_ref_token_l, body_r, person_ref_token_r, decision "
        "from linkage.review_decisions",
    )


def review_rows(review: pd.DataFrame, person_key: dict, run_id: int) -> pd.DataFrame:
    rows = []
    for r in review.itertuples(index=False):
        left, right = ordered_pair((r.source_l, r.record_id_l), (r.source_r, r.record_id_r))
        rows.append(
            dict(
                body_l=left[0],
                person_ref_token_l=left[1],
                body_r=right[0],
                person_ref_token_r=right[1],
                match_probability=r.match_probability,
                match_weight=r.match_weight,
                evidence=json.dumps(r.evidence),
                person_key_l=person_key.get(left),
                person_key_r=person_key.get(right),
                run_id=run_id,
            )
        )
    frame = pd.DataFrame(rows)
    return (
        frame.drop_duplicates(["body_l", "person_ref_token_l", "body_r", "person_ref_token_r"])
        if rows
        else frame
    )


def rekeyed_person_keys(conn: psycopg.Connection, since) -> list[str]:
    """Every person key the linkage runs started at or after ``since`` changed: both keys of each
    merge and split (linkage.person_key_events), keys issued (a new person, or records keyed for
    the first time) and keys retired. A build after those runs rebuilds these people's history."""
    if not table_exists(conn, schemas.LINKAGE, "person_key_events"):
        return []
    rows = conn.execute(
        """
        with runs as (select run_id from linkage.runs where started_at >= %s)
        select events.person_key from linkage.person_key_events as events
        where events.run_id in (select run_id from runs)
        union
        select events.other_key from linkage.person_key_events as events
        where events.run_id in (select run_id from runs)
        union
        select keys.person_key from linkage.person_keys as keys
        where keys.created_run in (select run_id from runs)
            or keys.retired_run in (select run_id from runs)
        order by 1
        """,
        (since,),
    ).fetchall()
    return [row[0] for row in rows]
