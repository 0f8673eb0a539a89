"""DDL for the tables ingestion writes: raw_<body>.<entity>, identity, ledger and quarantine.

This module is the contract between loading and everything downstream (dbt sources, Soda
contracts, linkage): the column names and types here are what they can rely on.
"""

from __future__ import annotations

import logging

from psycopg import Connection, sql

from ingestion.identity_fields import FIELD_NAMES, IDENTITY_FIELDS
from ingestion.spec import Entity, SourceSpec
from jigsaw import schemas

log = logging.getLogger(__name__)

# Lineage stored on every raw row, in the order the loader writes it (the row number last).
# Complete per row but a few bytes (issue 17): the delivery key joins the ledger, which holds
# the delivery id, the file's hash and when it was loaded, instead of their text on every row.
# The period stays on the row: replacing and expiring a period's rows, the raw gate's checks
# and dbt's incremental slices all select by it without the ledger.
LINEAGE_COLUMNS: list[tuple[str, str]] = [
    ("_delivery_key", "integer not null"),  # ingestion.deliveries.delivery_key
    ("_period", "text not null"),  # YYYY-MM the delivery covers
    ("_source_row_number", "integer not null"),  # 1-based data row (or record) in the file
]
# The lineage each raw row shows through its view (``lineage_view``), in this order before
# the delivered columns: what raw tables held per row before the delivery key. Each is a row
# column (r) or a ledger column (d).
LINEAGE_VIEW_COLUMNS: list[tuple[str, str]] = [
    ("_delivery_id", "d.delivery_id"),  # <body>/<delivery date>/<file name>
    ("_period", "r._period"),
    ("_file_sha256", "d.file_sha256"),
    ("_source_row_number", "r._source_row_number"),
    ("_loaded_at", "d.finished_at"),  # when the load recorded its rows, in its transaction
]


# Clear identifiers for linkage: one row per distinct person record per body and delivery
# (the person reference, its token and the identifying values as delivered), not one per
# delivered row: a police file naming the same person in ten incidents stores that person once
# (data minimisation). The raw rows carrying a record are found through ``person_ref_token``;
# a person reference delivered with different values in one delivery (a new address) keeps one
# record per distinct combination. ``_first_row_number`` is the first data row (or record) of
# the file carrying the combination: with (body, entity, _delivery_id) it names the record.
# Only the engineer and linkage roles may read this schema.
IDENTITY_HEAD: list[tuple[str, str]] = [
    ("body", "text not null"),
    ("entity", "text not null"),
    ("_delivery_id", "text not null"),
    ("_period", "text not null"),
    ("_first_row_number", "integer not null"),
    ("person_ref_token", "text not null"),
    ("person_ref", "text not null"),
]
# The columns the loader writes, in table order (_loaded_at takes its default).
IDENTITY_COLUMNS: tuple[str, ...] = (
    *(name for name, _ in IDENTITY_HEAD),
    *FIELD_NAMES,
)
# Where a record's distinguishing values start in a row of IDENTITY_COLUMNS: the clear
# reference and the fields. What comes before is the same for the whole delivery but for the
# row number, and the token is a function of the reference.
IDENTITY_VALUES_START = IDENTITY_COLUMNS.index("person_ref")
IDENTITY_REF_TOKEN = IDENTITY_COLUMNS.index("person_ref_token")
IDENTITY_ROW_NUMBER = IDENTITY_COLUMNS.index("_first_row_number")

# Which record each row carries, for the person references that carry more than one record in
# a delivery (``ingestion.distinct_records``): their rows cannot find their record through the
# reference alone. Row numbers only, no value; the rows of any other reference carry its one
# record. Written and deleted with the delivery's identity rows.
RECORD_ROWS_COLUMNS: tuple[str, ...] = (
    "body",
    "entity",
    "_delivery_id",
    "_source_row_number",
    "_first_row_number",
)

# The delivered rows carrying each record carried by more than one row in its delivery (a
# record not listed is carried by one): linkage weighs values by them, as it did when identity
# held a row per delivered row. Known only once the delivery is read, after the batch path has
# COPYed its records, so a table of its own written by COPY, not an update of identity (which
# cost 5.5 s of a 15 s million-row load where a third of people repeat).
RECORD_ROW_COUNTS_COLUMNS: tuple[str, ...] = (
    "body",
    "entity",
    "_delivery_id",
    "_first_row_number",
    "_rows",
)

# identity's tables written at the end of a delivery, as (schema, table), with their columns.
RECORD_ROWS_TABLE = (schemas.IDENTITY, "record_rows")
RECORD_ROW_COUNTS_TABLE = (schemas.IDENTITY, "record_row_counts")

# Indexes cost every load (a million rows: 8.9 s to COPY with the former primary key and
# (body, person_ref_token) btree, 2.8 s with this BRIN). Records are unique by (body, entity,
# _delivery_id, _first_row_number) by construction (one delivery per transaction), and linkage
# reads the whole table; the BRIN only serves the loader's delete of a replaced delivery,
# whose rows lie together since a delivery is one transaction.
_IDENTITY_TABLE_COLUMNS = ",\n".join(
    f"    {name} {kind}"
    for name, kind in [
        *IDENTITY_HEAD,
        *((field.name, field.sql_type) for field in IDENTITY_FIELDS),
        ("_loaded_at", "timestamptz not null default now()"),
    ]
)
IDENTITY_DDL = f"""
create schema if not exists identity;
create table if not exists identity.person_records (
{_IDENTITY_TABLE_COLUMNS}
);
create index if not exists person_records_delivery
    on identity.person_records using brin (body, entity, _delivery_id);
create table if not exists identity.record_rows (
    body text not null,
    entity text not null,
    _delivery_id text not null,
    _source_row_number integer not null,
    _first_row_number integer not null
);
create index if not exists record_rows_delivery
    on identity.record_rows using brin (body, entity, _delivery_id);
create table if not exists identity.record_row_counts (
    body text not null,
    entity text not null,
    _delivery_id text not null,
    _first_row_number integer not null,
    _rows integer not null
);
create index if not exists record_row_counts_delivery
    on identity.record_row_counts using brin (body, entity, _delivery_id);
"""

# An identity table of the former layout (one row per delivered row, numbered by
# _source_row_number) becomes the current one in place: the rows of references with more than
# one record in a delivery are listed with their record, then the row number of the first row
# of each record is kept, with the count of its rows, and its repeats within the delivery are
# deleted.
_RECORD_VALUES = ", ".join(IDENTITY_COLUMNS[IDENTITY_VALUES_START:])
_IDENTITY_TO_DISTINCT_RECORDS = f"""
alter table identity.person_records rename column _source_row_number to _first_row_number;
insert into identity.record_rows ({", ".join(RECORD_ROWS_COLUMNS)})
select body, entity, _delivery_id, _first_row_number, record
from (
    select *,
        min(record) over ref as first_record,
        max(record) over ref as last_record
    from (
        select body, entity, _delivery_id, _first_row_number, person_ref_token,
            min(_first_row_number) over (
                partition by body, entity, _delivery_id, {_RECORD_VALUES}
            ) as record
        from identity.person_records
    ) as carried
    window ref as (partition by body, entity, _delivery_id, person_ref_token)
) as refs
where first_record <> last_record;
insert into identity.record_row_counts ({", ".join(RECORD_ROW_COUNTS_COLUMNS)})
select body, entity, _delivery_id, min(_first_row_number), count(*)
from identity.person_records
group by body, entity, _delivery_id, {_RECORD_VALUES}
having count(*) > 1;
delete from identity.person_records as p
using (
    select ctid, row_number() over (
        partition by body, entity, _delivery_id, {_RECORD_VALUES}
        order by _first_row_number
    ) as nth
    from identity.person_records
) as repeated
where p.ctid = repeated.ctid and repeated.nth > 1;
"""

LEDGER_STATUSES = (
    "loaded",
    "duplicate",
    "rejected",
    "superseded",
    "expired",
    "failed",  # an exception while loading; retried (ingestion.ledger.MAX_ATTEMPTS)
    "held_for_review",  # would shrink its period beyond the spec's tolerance; not applied
    "discarded",  # held, then discarded by an operator
)
# Columns added to the ledger after its first release: (name, type), added where missing.
LEDGER_LATER_COLUMNS = (
    ("attempts", "integer not null default 1"),
    ("next_attempt_at", "timestamptz"),
    ("decided_by", "text"),
    ("decided_at", "timestamptz"),
    # The key raw rows carry (LINEAGE_COLUMNS); a ledger made before it numbers its rows.
    ("delivery_key", "integer generated by default as identity unique"),
)
LEDGER_DDL = """
create schema if not exists ingestion;
create table if not exists ingestion.deliveries (
    delivery_id text primary key,
    body text not null,
    entity text not null,
    period text not null,
    delivery_date date not null,
    file_name text not null,
    file_sha256 text not null,
    bytes bigint not null,
    status text not null constraint deliveries_status_check check (status in ({statuses})),
    rows_delivered integer,
    rows_loaded integer,
    rows_quarantined integer,
    error text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    attempts integer not null default 1,  -- loads tried (a failed one is retried)
    next_attempt_at timestamptz,  -- when a failed load may be tried again
    decided_by text,  -- the operator who approved, discarded or reinstated it
    decided_at timestamptz,
    delivery_key integer generated by default as identity unique  -- raw rows' _delivery_key
);
create index if not exists deliveries_sha on ingestion.deliveries (file_sha256);
create table if not exists ingestion.quarantine (
    delivery_id text not null,
    body text not null,
    entity text not null,
    file_sha256 text not null,
    source_row_number integer not null,
    column_name text,
    reason text not null,
    original_line text,
    quarantined_at timestamptz not null default now()
);
create index if not exists quarantine_delivery on ingestion.quarantine (delivery_id);
"""


def raw_columns(entity: Entity) -> list[tuple[str, str]]:
    """(name, type) of the delivered columns as stored in raw, in spec order.

    An NHS number column also gets ``<name>_is_valid``: the modulus-11 check can only be made
    on the clear value, which raw never holds.
    """
    columns: list[tuple[str, str]] = []
    for column in entity.columns:
        if column.raw_name:
            columns.append((column.raw_name, column.raw_type))
        if column.linkage == "nhs_number":
            columns.append((f"{column.name}_is_valid", "boolean"))
    return columns


def lineage_view(table: str) -> str:
    """The name of the view (in the raw schema) that shows a raw table's rows with their full
    lineage: what dbt's sources, analysts and the raw gate's row samples read."""
    return f"{table}__lineage"


def create_raw_table(conn: Connection, spec: SourceSpec, entity: Entity) -> None:
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
        for name, kind in LINEAGE_COLUMNS + raw_columns(entity)
    ]
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(spec.raw_schema)))
    conn.execute(
        sql.SQL("create table if not exists {}.{} ({})").format(
            sql.Identifier(spec.raw_schema),
            sql.Identifier(entity.name),
            sql.SQL(", ").join(columns),
        )
    )
    # BRIN, not btree: a delivery's rows arrive together in one COPY, so block ranges map to
    # periods well enough for the replacement delete and a build's read of the delivered
    # periods (macros/slices.sql), at almost no cost to loading (summarize_new_ranges).
    conn.execute(
        sql.SQL("create index if not exists {} on {}.{} using brin (_period)").format(
            _period_index(entity), sql.Identifier(spec.raw_schema), sql.Identifier(entity.name)
        )
    )


def _period_index(entity: Entity) -> sql.Identifier:
    return sql.Identifier(f"{entity.name}__period")


def summarize_new_ranges(conn: Connection, spec: SourceSpec, entity: Entity) -> None:
    """Summarise the block ranges a load appended in the raw table's period index. PostgreSQL
    leaves them unsummarised until a VACUUM (and autovacuum may be off, or late), and a scan of
    the index returns every unsummarised range: at 100k residents a read of one sensors period
    read all 24 (7.8 million rows, 1.5 s) instead of its own. The batch loader calls it after
    each batch too, so the server summarises while the next batch is built; a range summarised
    while still being filled is kept up to date by PostgreSQL as rows are added to it."""
    index = sql.SQL("{}.{}").format(sql.Identifier(spec.raw_schema), _period_index(entity))
    conn.execute("select brin_summarize_new_values(%s::regclass)", (index.as_string(conn),))


def create_lineage_view(conn: Connection, spec: SourceSpec, entity: Entity) -> None:
    """The raw table's rows as they were stored before the delivery key: their lineage from
    the ledger (which must exist), then the delivered columns. A left join, so a row the ledger
    does not know would still show (with no delivery id), and PostgreSQL skips the join when no
    ledger column is read (the delivery key is unique)."""
    shown = [
        sql.SQL("{} as {}").format(sql.SQL(expression), sql.Identifier(name))
        for name, expression in LINEAGE_VIEW_COLUMNS
    ]
    shown += [sql.SQL("r.{}").format(sql.Identifier(name)) for name, _ in raw_columns(entity)]
    conn.execute(
        sql.SQL(
            "create or replace view {}.{} as select {} from {}.{} as r"
            " left join ingestion.deliveries as d on d.delivery_key = r._delivery_key"
        ).format(
            sql.Identifier(spec.raw_schema),
            sql.Identifier(lineage_view(entity.name)),
            sql.SQL(", ").join(shown),
            sql.Identifier(spec.raw_schema),
            sql.Identifier(entity.name),
        )
    )
    conn.execute(
        sql.SQL("comment on view {}.{} is {}").format(
            sql.Identifier(spec.raw_schema),
            sql.Identifier(lineage_view(entity.name)),
            sql.Literal(
                f"{spec.raw_schema}.{entity.name} with each row's lineage from the delivery"
                " ledger (ingestion.deliveries): delivery id, period, file sha256, row number,"
                " loaded at."
            ),
        )
    )


def _old_layout_tables(conn: Connection, specs: list[SourceSpec]) -> set[tuple[str, str]]:
    """(schema, table) of the raw tables still made the way they were before the delivery key:
    delivery id and file hash text on every row."""
    schemas_ = [spec.raw_schema for spec in specs]
    return {
        (schema, table)
        for schema, table in conn.execute(
            "select n.nspname, c.relname from pg_attribute as a"
            " join pg_class as c on c.oid = a.attrelid"
            " join pg_namespace as n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind = 'r' and a.attname = '_delivery_id'"
            " and not a.attisdropped",
            (schemas_,),
        )
    }


def migrate_to_delivery_key(conn: Connection, spec: SourceSpec, entity: Entity) -> int:
    """Rebuild a raw table made before the delivery key in the current layout; returns its rows.

    Migrated rather than refused: the ledger already holds every delivery's id, hash and times,
    so the rows lose nothing, and an operator has nothing to do by hand. Rebuilt, not altered in
    place, so the table is as compact as a new one (dropped columns would keep their bytes).
    The views built on the old table (dbt's staging views) are dropped with it: the next dbt
    build makes them again, on the lineage view. The new table has the privileges the schema's
    default privileges give (``quality.roles.ensure_roles`` grants them again). Raises when a
    row's delivery is not in the ledger (nothing is migrated then, and nothing lost).
    """
    schema, name = sql.Identifier(spec.raw_schema), sql.Identifier(entity.name)
    old = sql.Identifier(f"{entity.name}__before_delivery_key")
    conn.execute(sql.SQL("alter table {}.{} rename to {}").format(schema, name, old))
    conn.execute(
        sql.SQL("alter index if exists {}.{} rename to {}").format(
            schema,
            sql.Identifier(f"{entity.name}__period"),
            sql.Identifier(f"{entity.name}__period_before_delivery_key"),
        )
    )
    create_raw_table(conn, spec, entity)
    create_lineage_view(conn, spec, entity)
    delivered = [sql.Identifier(column) for column, _ in raw_columns(entity)]
    moved = conn.execute(
        sql.SQL(
            "insert into {}.{} (_delivery_key, _period, _source_row_number, {})"
            " select d.delivery_key, o._period, o._source_row_number, {} from {}.{} as o"
            " join ingestion.deliveries as d on d.delivery_id = o._delivery_id"
            " order by d.delivery_key, o._source_row_number"
        ).format(
            schema,
            name,
            sql.SQL(", ").join(delivered),
            sql.SQL(", ").join(sql.SQL("o.{}").format(c) for c in delivered),
            schema,
            old,
        )
    ).rowcount
    before = conn.execute(sql.SQL("select count(*) from {}.{}").format(schema, old)).fetchone()[0]
    if moved != before:
        raise RuntimeError(
            f"{spec.raw_schema}.{entity.name}: {before - moved} of {before} rows name a delivery"
            " the ledger (ingestion.deliveries) does not hold; not migrated to the delivery key"
        )
    conn.execute(sql.SQL("drop table {}.{} cascade").format(schema, old))
    return moved


def _ledger_ddl() -> str:
    return LEDGER_DDL.replace("{statuses}", ", ".join(f"'{s}'" for s in LEDGER_STATUSES))


def _upgrade_ledger_statuses(conn: Connection) -> None:
    """A ledger made before a status existed gets the current list (only then: the ALTER
    locks the ledger, which concurrent loads are using)."""
    checks = conn.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = 'ingestion.deliveries'::regclass and contype = 'c'"
        " and pg_get_constraintdef(oid) like '%status%'"
    ).fetchall()
    if all(f"'{s}'" in definition for s in LEDGER_STATUSES for _, definition in checks):
        return
    for name, _ in checks:
        conn.execute(
            sql.SQL("alter table ingestion.deliveries drop constraint {}").format(
                sql.Identifier(name)
            )
        )
    conn.execute(
        sql.SQL(
            "alter table ingestion.deliveries add constraint deliveries_status_check"
            " check (status in ({}))"
        ).format(sql.SQL(", ").join(map(sql.Literal, LEDGER_STATUSES)))
    )


def _column_names(conn: Connection, schema: str, table: str) -> set[str]:
    return {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            (schema, table),
        )
    }


def _upgrade_ledger_columns(conn: Connection) -> None:
    """A ledger made before a column existed gets it (only then: ALTER locks the ledger)."""
    present = _column_names(conn, schemas.INGESTION, "deliveries")
    for name, kind in LEDGER_LATER_COLUMNS:
        if name not in present:
            conn.execute(
                sql.SQL("alter table ingestion.deliveries add column {} {}").format(
                    sql.Identifier(name), sql.SQL(kind)
                )
            )


def _upgrade_identity(conn: Connection) -> None:
    """An identity table of a former layout gets the current one (only then: see above)."""
    present = _column_names(conn, schemas.IDENTITY, "person_records")
    if "_source_row_number" in present:
        conn.execute(_IDENTITY_TO_DISTINCT_RECORDS)


def _exists(conn: Connection, *names: str) -> bool:
    """Whether every relation (table or index, "schema.name") exists: a catalogue read that
    takes no lock, unlike ``create ... if not exists``."""
    found = conn.execute(
        "select count(*) from unnest(%s::text[]) as n where to_regclass(n) is not null",
        ([sql.Identifier(*n.split(".")).as_string(conn) for n in names],),
    ).fetchone()[0]
    return found == len(names)


def create_ingestion_tables(conn: Connection, specs: list[SourceSpec]) -> None:
    """Idempotent: every raw table of every spec, plus identity, ledger and quarantine.

    DDL runs only for what is missing: ``create index if not exists`` locks its table against
    writes even when the index is there, and a load in progress holds those tables, so running
    it on every load deadlocked concurrent loads.
    """
    identity = ("identity.person_records", "identity.person_records_delivery")
    identity += ("identity.record_rows", "identity.record_rows_delivery")
    identity += ("identity.record_row_counts", "identity.record_row_counts_delivery")
    if not _exists(conn, *identity):
        conn.execute(IDENTITY_DDL)
    _upgrade_identity(conn)
    ledger = ("ingestion.deliveries", "ingestion.deliveries_sha", "ingestion.quarantine")
    if not _exists(conn, *ledger, "ingestion.quarantine_delivery"):
        conn.execute(_ledger_ddl())
    _upgrade_ledger_columns(conn)
    _upgrade_ledger_statuses(conn)
    old_layout = _old_layout_tables(conn, specs)
    for spec in specs:
        for entity in spec.entities:
            if (spec.raw_schema, entity.name) in old_layout:
                rows = migrate_to_delivery_key(conn, spec, entity)
                log.warning(
                    "%s.%s: %d rows moved to the delivery-key layout; views on the old table"
                    " were dropped (the next dbt build makes them again)",
                    spec.raw_schema,
                    entity.name,
                    rows,
                )
                continue
            table = f"{spec.raw_schema}.{entity.name}"
            view = f"{spec.raw_schema}.{lineage_view(entity.name)}"
            if not _exists(conn, table, f"{table}__period", view):
                create_raw_table(conn, spec, entity)
                create_lineage_view(conn, spec, entity)
