"""The keyed pseudonymous property key: HMAC-SHA256 of the UPRN in its own domain.

A UPRN is a public address identifier (anyone can look one up), so it is not a pseudonym:
marts read by anyone without an address purpose carry ``property_key`` instead, and household
keys are made from it (dbt's ``household_key`` macro). The key cannot be computed inside the
database without handing it the secret, so this step writes ``linkage.property_keys``: one row
per UPRN the region holds (every raw column named ``uprn``, the address matches in
``linkage.address_xref``), standardised as dbt's ``standardise_uprn`` does. It only adds rows:
a property keeps its key across runs.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ingestion.pseudonymise import UPRN_DOMAIN, Pseudonymiser, normalise
from jigsaw.database import connect, resolve_database_url
from linkage import store


def uprn_columns(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(schema, table) of every raw table with a ``uprn`` column, and the address matches."""
    rows = conn.execute(
        "select table_schema, table_name from information_schema.columns"
        " where column_name = 'uprn' and (table_schema like 'raw\\_%%'"
        " or (table_schema = 'linkage' and table_name = 'address_xref')) order by 1, 2"
    ).fetchall()
    return [(schema, table) for schema, table in rows]


def write_property_keys(
    conn: psycopg.Connection, pseudonymiser: Pseudonymiser | None = None
) -> dict:
    """Add a key for every UPRN not keyed yet (``linkage.property_keys`` is made by
    ``store.ensure_schema``, once per build); returns counts for the asset's metadata."""
    token = (pseudonymiser or Pseudonymiser()).tokeniser(UPRN_DOMAIN)
    seen: set[str] = set()
    for schema, table in uprn_columns(conn):
        query = sql.SQL("select distinct uprn::text from {} where uprn is not null")
        for (value,) in conn.execute(query.format(sql.Identifier(schema, table))):
            canonical = normalise(UPRN_DOMAIN, value)
            if canonical:
                seen.add(canonical)
    known = {u for (u,) in conn.execute("select uprn from linkage.property_keys")}
    new = sorted(seen - known)
    with (
        conn.cursor() as cursor,
        cursor.copy("copy linkage.property_keys (uprn, property_key) from stdin") as copy,
    ):
        for uprn in new:
            copy.write_row((uprn, token(uprn)))
    return {"properties": len(known) + len(new), "new_properties": len(new)}


def run_property_keys(database_url: str | None = None) -> dict:
    url = database_url or resolve_database_url()
    with connect(url) as conn:
        store.require_schema(conn)
        with conn.transaction():
            # One writer at a time: two runs would both insert the same new UPRNs.
            conn.execute("lock table linkage.property_keys in exclusive mode")
            return write_property_keys(conn)
