"""The property (UPRN) of every person record: as the body gave it, else matched on address.

One row per identity record (a distinct person record of a delivery); the delivered rows
carrying it find it through their person reference (dbt macro person_record_addresses), or,
when the reference carries several records in the delivery, through their row numbers
(identity.record_rows).

Candidates are gazetteer entries in the same postcode district (so a postcode mistyped after
its district still finds its home) whose house and flat numbers agree exactly (10 and 12 HIGH
STREET are a few characters apart but different homes); the rest of the address is scored
with Jaro-Winkler similarity. A record without a postcode has no district and no candidates.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from jigsaw import schemas
from jigsaw.database import connect, resolve_database_url
from linkage import store
from linkage.standardise import standard_address, standard_postcode

MATCH_THRESHOLD = 0.88
_NUMBERS = re.compile(r"\b\d+[A-Z]?\b")

GAZETTEER_SQL = """
select distinct on (uprn) uprn, address_line, town, postcode
from raw_reference.gazetteer
order by uprn, _period desc
"""

UNGIVEN_ADDRESSES_SQL = """
select distinct address, postcode
from identity.person_records
where nullif(trim(uprn), '') is null and address is not null
"""

ADDRESS_XREF_SQL = """
insert into linkage.address_xref
select p.body, p.entity, p._delivery_id, p._first_row_number, p.person_ref_token,
    coalesce(nullif(trim(p.uprn), ''), m.uprn),
    case when nullif(trim(p.uprn), '') is not null then 'given'
        when m.uprn is not null then 'address_match' else 'unmatched' end,
    case when nullif(trim(p.uprn), '') is not null then 1.0 else m.score end,
    r.source_row_numbers
from identity.person_records as p
left join address_matches as m
    on m.address = p.address and m.postcode is not distinct from p.postcode
left join (
    select body, entity, _delivery_id, _first_row_number,
        array_agg(_source_row_number order by _source_row_number) as source_row_numbers
    from identity.record_rows
    group by body, entity, _delivery_id, _first_row_number
) as r
    on r.body = p.body and r.entity = p.entity and r._delivery_id = p._delivery_id
    and r._first_row_number = p._first_row_number
"""


def _prepare(frame: pd.DataFrame, address: pd.Series) -> pd.DataFrame:
    out = frame.copy()
    out["std_address"] = address.map(standard_address).astype(object)
    out["std_postcode"] = out["postcode"].map(lambda v: standard_postcode(v, "uk")).astype(object)
    out["district"] = out["std_postcode"].map(
        lambda p: p.split(" ")[0] if isinstance(p, str) else None
    )
    out["numbers"] = out["std_address"].map(
        lambda a: " ".join(_NUMBERS.findall(a)) or None if isinstance(a, str) else None
    )
    return out


def match_addresses(addresses: pd.DataFrame, gazetteer: pd.DataFrame) -> pd.DataFrame:
    """Best gazetteer UPRN per (address, postcode): columns address, postcode, uprn, score."""
    if addresses.empty or gazetteer.empty:
        return pd.DataFrame(columns=["address", "postcode", "uprn", "score"])
    people = _prepare(addresses, addresses["address"])
    places = _prepare(gazetteer, gazetteer["address_line"])
    places["std_full"] = (
        gazetteer["address_line"].fillna("") + " " + gazetteer["town"].fillna("")
    ).map(standard_address)
    con = duckdb.connect()
    try:
        con.register("people", people.reset_index(names="row"))
        con.register("places", places)
        matched = con.execute(
            f"""
            with candidates as (
                select p.row, g.uprn, greatest(
                    jaro_winkler_similarity(p.std_address, g.std_address),
                    jaro_winkler_similarity(p.std_address, g.std_full)) as score
                -- Both keys are equalities, so both are the hash join's: numbers alone (with
                -- the district in a residual filter) paired every address with every place of
                -- its house number in the region, pairs growing with the square of its size.
                from people as p join places as g
                    on p.numbers = g.numbers and p.district = g.district
            ),
            ranked as (
                select *, row_number() over (partition by row order by score desc, uprn) as rank
                from candidates where score >= {MATCH_THRESHOLD}
            )
            select row, uprn, score from ranked where rank = 1
            """
        ).df()
    finally:
        con.close()
    out = (
        addresses.reset_index(drop=True)
        .reset_index(names="row")
        .merge(matched, on="row", how="left")
    )
    return out[["address", "postcode", "uprn", "score"]]


def run_address_matching(database_url: str | None = None) -> dict:
    """Replace linkage.address_xref from identity.person_records and the gazetteer."""
    url = database_url or resolve_database_url()
    with connect(url) as conn:
        store.require_schema(conn)
        if not store.table_exists(conn, schemas.IDENTITY, "person_records"):
            raise RuntimeError("identity.person_records does not exist: load deliveries first")
        has_gazetteer = store.table_exists(conn, schemas.raw_schema("reference"), "gazetteer")
        gazetteer = (
            store.read_frame(conn, GAZETTEER_SQL)
            if has_gazetteer
            else pd.DataFrame(columns=["uprn", "address_line", "town", "postcode"])
        )
        addresses = store.read_frame(conn, UNGIVEN_ADDRESSES_SQL)
        matches = match_addresses(addresses, gazetteer)
        with conn.transaction():
            conn.execute(
                "create temporary table address_matches "
                "(address text, postcode text, uprn text, score double precision) on commit drop"
            )
            store.copy_rows(
                conn,
                "address_matches",
                ["address", "postcode", "uprn", "score"],
                matches.dropna(subset=["uprn"]),
            )
            # A new temporary table has no statistics (autovacuum never sees it): unanalysed,
            # the planner merge-joined it at a million residents, 17.6 s against 12.5 s.
            conn.execute("analyze address_matches")
            conn.execute("delete from linkage.address_xref")
            conn.execute(ADDRESS_XREF_SQL)
            counts = dict(
                conn.execute(
                    "select method, count(*) from linkage.address_xref group by method"
                ).fetchall()
            )
    return {
        "gazetteer_loaded": has_gazetteer,
        "gazetteer_properties": len(gazetteer),
        "distinct_addresses_to_match": len(addresses),
        "rows_given": counts.get("given", 0),
        "rows_address_match": counts.get("address_match", 0),
        "rows_unmatched": counts.get("unmatched", 0),
    }
