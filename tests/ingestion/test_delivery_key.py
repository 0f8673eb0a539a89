"""Raw rows carry a delivery key, not the delivery id and file hash text (issue 17): the lineage
view shows the same lineage per row, and a raw table made the old way is migrated, not lost."""

from __future__ import annotations

import psycopg
import pytest

from ingestion.folder_load import load_landing, prepare_database
from tests.ingestion import deliveries as d

LINEAGE = "_delivery_id, _period, _file_sha256, _source_row_number"
SHOWN = f"select {LINEAGE}, incident_no, nominal_id_token, risk_grade from raw_police.{{}}"


def columns(db: psycopg.Connection, table: str) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'raw_police' and table_name = %s order by ordinal_position",
            (table,),
        )
    ]


def rows_shown(db: psycopg.Connection) -> list[tuple]:
    return db.execute(SHOWN.format("incidents__lineage") + " order by 1, 4").fetchall()


def police(specs):
    return [s for s in specs if s.body == "police"]


def test_raw_rows_carry_a_key_and_the_view_shows_their_delivery(db, db_url, landing, specs):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1), d.police_row(2)])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(3)])
    load_landing(db_url, landing, police(specs))

    assert columns(db, "incidents")[:3] == ["_delivery_key", "_period", "_source_row_number"]
    assert not {"_delivery_id", "_file_sha256", "_loaded_at"} & set(columns(db, "incidents"))
    assert columns(db, "incidents__lineage")[:5] == [
        "_delivery_id", "_period", "_file_sha256", "_source_row_number", "_loaded_at",
    ]  # fmt: skip
    shown = db.execute(
        "select v._delivery_id, v._period, v._file_sha256 = d.file_sha256, v._source_row_number,"
        " v._loaded_at = d.finished_at from raw_police.incidents__lineage as v"
        " join ingestion.deliveries as d on d.delivery_id = v._delivery_id order by 1, 4"
    ).fetchall()
    assert shown == [
        ("police/2026-02-03/incidents_2026-01.csv", "2026-01", True, 1, True),
        ("police/2026-02-03/incidents_2026-01.csv", "2026-01", True, 2, True),
        ("police/2026-03-03/incidents_2026-02.csv", "2026-02", True, 1, True),
    ]
    # Each loaded delivery's rows carry its own key.
    assert db.execute(
        "select count(distinct r._delivery_key), count(*) filter (where d.delivery_id is null)"
        " from raw_police.incidents as r"
        " left join ingestion.deliveries as d on d.delivery_key = r._delivery_key"
    ).fetchone() == (2, 0)


def make_old_layout(db: psycopg.Connection) -> None:
    """Turn the police table back into the layout raw tables had before the delivery key (the
    lineage text on every row), with a view on it as dbt's staging makes, and a ledger from
    before the key."""
    db.execute(
        "create table raw_police.incidents_old as select * from raw_police.incidents__lineage;"
        " drop view raw_police.incidents__lineage; drop table raw_police.incidents;"
        " alter table raw_police.incidents_old rename to incidents;"
        " create index incidents__period on raw_police.incidents using brin (_period);"
        " create view public.stg_police__incidents as"
        "   select _delivery_id as delivery_id from raw_police.incidents;"
        " alter table ingestion.deliveries drop column delivery_key"
    )
    db.commit()


def test_a_raw_table_of_the_old_layout_is_migrated_with_its_lineage(db, db_url, landing, specs):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1), d.police_row(2)])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(3)])
    load_landing(db_url, landing, police(specs))
    before = rows_shown(db)
    db.commit()
    make_old_layout(db)
    assert "_delivery_id" in columns(db, "incidents")

    with psycopg.connect(db_url, autocommit=True) as conn:
        prepare_database(conn, specs)

    assert columns(db, "incidents")[:3] == ["_delivery_key", "_period", "_source_row_number"]
    assert "_delivery_id" not in columns(db, "incidents")
    assert rows_shown(db) == before
    # The view dbt built on the old table is gone; dbt's next build makes it again.
    assert db.execute("select to_regclass('public.stg_police__incidents')").fetchone() == (None,)
    # Loads go on as before: a correction replaces its period.
    d.police_file(landing, "2026-02-20", "2026-01", [d.police_row(9)])
    load_landing(db_url, landing, police(specs))
    assert db.execute(
        "select _delivery_id, count(*) from raw_police.incidents__lineage group by 1 order by 1"
    ).fetchall() == [
        ("police/2026-02-20/incidents_2026-01.csv", 1),
        ("police/2026-03-03/incidents_2026-02.csv", 1),
    ]


def test_an_old_table_naming_a_delivery_the_ledger_lacks_is_not_migrated(
    db, db_url, landing, specs
):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    load_landing(db_url, landing, police(specs))
    db.commit()
    make_old_layout(db)
    db.execute("delete from ingestion.deliveries")
    db.commit()

    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        pytest.raises(RuntimeError, match="1 of 1 rows name a delivery the ledger"),
    ):
        prepare_database(conn, specs)
    # Nothing changed: the old table keeps its rows.
    assert "_delivery_id" in columns(db, "incidents")
    assert db.execute("select count(*) from raw_police.incidents").fetchone() == (1,)
