"""DDL for the tables ingestion writes: raw_<body>.<entity>, identity, ledger and quarantine.

This module is the contract between loading and everything downstream (dbt sources, Soda
contracts, linkage): the column names and types here are what they can rely on.
"""

from __future__ import annotations

from psycopg import Connection, sql

from ingestion.identity_fields import FIELD_NAMES, IDENTITY_FIELDS
from ingestion.spec import Entity, SourceSpec
from jigsaw import schemas

LINEAGE_COLUMNS: list[tuple[str, str]] = [
    ("_delivery_id", "text not null"),  # <body>/<delivery date>/<file name>
    ("_period", "text not null"),  # YYYY-MM the delivery covers
    ("_file_sha256", "text not null"),
    ("_source_row_number", "integer not null"),  # 1-based data row (or record) in the file
    ("_loaded_at", "timestamptz not null default now()"),
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
"""

# An identity table of the former layout (one row per delivered row, numbered by
# _source_row_number) becomes the current one in place: the row number of the first row of
# each record is kept and its repeats within the delivery are deleted.
_RECORD_VALUES = ", ".join(IDENTITY_COLUMNS[IDENTITY_VALUES_START:])
_IDENTITY_TO_DISTINCT_RECORDS = f"""
alter table identity.person_records rename column _source_row_number to _first_row_number;
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
    decided_at timestamptz
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
    # periods well enough for the replacement delete, at almost no cost to loading.
    conn.execute(
        sql.SQL("create index if not exists {} on {}.{} using brin (_period)").format(
            sql.Identifier(f"{entity.name}__period"),
            sql.Identifier(spec.raw_schema),
            sql.Identifier(entity.name),
        )
    )


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


def _upgrade_ledger_columns(conn: Connection) -> None:
    """A ledger made before a column existed gets it (only then: ALTER locks the ledger)."""
    present = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = 'deliveries'",
            (schemas.INGESTION,),
        )
    }
    for name, kind in LEDGER_LATER_COLUMNS:
        if name not in present:
            conn.execute(
                sql.SQL("alter table ingestion.deliveries add column {} {}").format(
                    sql.Identifier(name), sql.SQL(kind)
                )
            )


def _upgrade_identity(conn: Connection) -> None:
    """An identity table of the former layout gets the current one (only then: see above)."""
    former = conn.execute(
        "select 1 from information_schema.columns where table_schema = %s"
        " and table_name = 'person_records' and column_name = '_source_row_number'",
        (schemas.IDENTITY,),
    ).fetchone()
    if former:
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
    if not _exists(conn, "identity.person_records", "identity.person_records_delivery"):
        conn.execute(IDENTITY_DDL)
    _upgrade_identity(conn)
    ledger = ("ingestion.deliveries", "ingestion.deliveries_sha", "ingestion.quarantine")
    if not _exists(conn, *ledger, "ingestion.quarantine_delivery"):
        conn.execute(_ledger_ddl())
    _upgrade_ledger_columns(conn)
    _upgrade_ledger_statuses(conn)
    for spec in specs:
        for entity in spec.entities:
            table = f"{spec.raw_schema}.{entity.name}"
            if not _exists(conn, table, f"{spec.raw_schema}.{entity.name}__period"):
                create_raw_table(conn, spec, entity)
