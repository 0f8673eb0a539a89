"""No clear identifier reaches a raw table: a scan of every column of every raw_<body> table
after loading files that carry known names, dates of birth, NHS and national insurance
numbers, addresses, postcodes and phone numbers. The same values are in the restricted
identity schema, which proves the scan looks for values that were really delivered."""

from __future__ import annotations

import psycopg
from psycopg import sql

from ingestion.folder_load import load_landing
from tests.ingestion import deliveries as d

CLEAR_VALUES = {
    "family name": "QUINTANILLA",
    "given name": "ZEBEDEE",
    "nhs number": d.VALID_NHS,
    "national insurance number": "QQ123456C",
    "address": "Low Street",
    "postcode": "AB1 2CE",
    "full date of birth": "1980-02-01",
    "phone": "07700 900123",
}


def _columns(db: psycopg.Connection, schema_like: str) -> list[tuple[str, str, str]]:
    return db.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_schema like %s order by 1, 2, 3",
        (schema_like,),
    ).fetchall()


def _found(db: psycopg.Connection, schema_like: str) -> dict[str, list[str]]:
    """Each clear value and the columns whose text (any type, cast) contains it."""
    found: dict[str, list[str]] = {}
    for schema, table, column in _columns(db, schema_like):
        for label, value in CLEAR_VALUES.items():
            hit = db.execute(
                sql.SQL("select 1 from {}.{} where upper({}::text) like %s limit 1").format(
                    sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column)
                ),
                (f"%{value.upper()}%",),
            ).fetchone()
            if hit:
                found.setdefault(label, []).append(f"{schema}.{table}.{column}")
    return found


def test_no_clear_identifier_is_stored_in_any_raw_table(db, db_url, landing, specs):
    d.police_file(
        landing,
        "2026-02-03",
        "2026-01",
        [d.police_row(1, SURNAME="QUINTANILLA", FORENAME="ZEBEDEE", ADDRESS="2 Low Street",
                      POSTCODE="AB1 2CE", DOB="01-02-1980")],
    )  # fmt: skip
    acute = d.folder(landing, "acute_trust", "2026-02-04") / "ae_attendances_2026-01.txt"
    d.write_csv(acute, d.ACUTE_HEADER, [d.acute_row(1, SURNAME="QUINTANILLA")], "|")
    asc = d.folder(landing, "adult_social_care", "2026-02-04") / "care_contacts_2026-01.csv"
    d.write_csv(asc, d.ASC_HEADER, [d.asc_row(1)])
    cts = d.folder(landing, "revenues_benefits", "2026-02-05") / "council_tax_support_2026-01.xlsx"
    d.write_xlsx(cts, "CTS", d.CTS_HEADER, [d.cts_row(1)])
    tenancies = d.folder(landing, "housing_provider", "2026-02-06") / "tenancies_2026-01.json"
    d.write_json(tenancies, {"tenancies": [d.tenancy(1)]})
    bodies = {"police", "acute_trust", "adult_social_care", "revenues_benefits", "housing_provider"}
    load_landing(db_url, landing, [s for s in specs if s.body in bodies])

    loaded = db.execute(
        "select count(*) from ingestion.deliveries where status = 'loaded'"
    ).fetchone()[0]
    assert loaded == 5
    in_raw = _found(db, "raw\\_%")
    assert in_raw == {}, f"clear identifiers in raw tables: {in_raw}"
    in_identity = _found(db, "identity")
    expected_in_identity = {"family name", "given name", "nhs number", "address", "postcode"}
    assert expected_in_identity <= set(in_identity), in_identity
