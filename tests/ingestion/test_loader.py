"""The loader on a real PostgreSQL: every format, nothing lost, idempotent, rejections explained."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import psycopg
import pytest

from ingestion.folder_load import load_landing, prepare_database
from ingestion.landing import delivery_for
from ingestion.loader import DeliveryRejected, load_delivery
from ingestion.pseudonymise import KEY_VARIABLE, MissingKeyError, Pseudonymiser
from ingestion.raw_tables import lineage_view
from ingestion.spec import SourceSpec
from tests.ingestion import deliveries as d


def by_body(specs: list[SourceSpec], *bodies: str) -> list[SourceSpec]:
    return [s for s in specs if s.body in bodies]


def ledger(db: psycopg.Connection) -> dict[str, tuple]:
    rows = db.execute(
        "select delivery_id, status, rows_delivered, rows_loaded, rows_quarantined, error"
        " from ingestion.deliveries"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def count(db: psycopg.Connection, table: str, where: str = "true", *params) -> int:
    return db.execute(f"select count(*) from {table} where {where}", params).fetchone()[0]


def assert_nothing_lost(db: psycopg.Connection, specs: list[SourceSpec]) -> None:
    """For every loaded delivery: delivered = loaded + quarantined, and the tables agree."""
    # Raw rows carry a delivery key; their delivery id is seen through the lineage view.
    tables = {
        (s.body, e.name): f"{s.raw_schema}.{lineage_view(e.name)}"
        for s in specs
        for e in s.entities
    }
    loaded = db.execute(
        "select delivery_id, body, entity, rows_delivered, rows_loaded, rows_quarantined"
        " from ingestion.deliveries where status = 'loaded'"
    ).fetchall()
    assert loaded
    for delivery_id, body, entity, delivered, in_raw, quarantined in loaded:
        assert delivered == in_raw + quarantined, delivery_id
        assert count(db, tables[body, entity], "_delivery_id = %s", delivery_id) == in_raw
        where = "delivery_id = %s"
        assert count(db, "ingestion.quarantine", where, delivery_id) == quarantined


def test_every_format_loads_and_every_row_is_accounted_for(db, db_url, landing, specs):
    d.police_file(
        landing,
        "2026-02-03",
        "2026-01",
        [
            d.police_row(1),
            d.police_row(2, DOB="31-02-1980"),  # no such date
            d.police_row(3, NOMINAL_ID=""),  # empty where the spec forbids it
            d.police_row(4, INCIDENT_DATETIME="yesterday"),
            d.police_row(5, RISK="catastrophic"),  # allowed_values are Soda's job: loaded
            d.police_row(6, ADDRESS='Flat 2, "The Mill"\nMill Lane'),  # quoted newline
        ],
    )
    police_csv = landing / "police" / "2026-02-03" / "incidents_2026-01.csv"
    with police_csv.open("ab") as handle:
        handle.write(b"INC9,NOM9,TOO,FEW\n")  # wrong number of fields
        handle.write("INC10,NOM10,M\xfcller,A,01-02-1980,M,x,y,03/01/2026 10:15,theft,victim,"
                     "high\n".encode("latin-1"))  # fmt: skip
    acute = d.folder(landing, "acute_trust", "2026-02-04") / "ae_attendances_2026-01.txt"
    d.write_csv(acute, d.ACUTE_HEADER, [d.acute_row(1), d.acute_row(2, ACUITY="high")], "|")
    cts = d.folder(landing, "revenues_benefits", "2026-02-05") / "council_tax_support_2026-01.xlsx"
    d.write_xlsx(
        cts,
        "CTS",
        d.CTS_HEADER,
        [d.cts_row(1), d.cts_row(2, dob="1980-12-01"), d.cts_row(3, weekly="twelve")],
    )
    tenancies = d.folder(landing, "housing_provider", "2026-02-06") / "tenancies_2026-01.json"
    d.write_json(
        tenancies,
        {"tenancies": [d.tenancy(1), d.tenancy(2, startDate="01/05/2024"), "not a record"]},
    )
    sensors = d.folder(landing, "home_sensors", "2026-02-07") / "sensor_readings_2026-01.ndjson"
    sensors.write_text(
        "\n".join([d.sensor_line(1), d.sensor_line(2, rh="damp"), "{broken", d.sensor_line(3)])
        + "\n"
    )
    bodies = ("police", "acute_trust", "revenues_benefits", "housing_provider", "home_sensors")
    summary = load_landing(db_url, landing, by_body(specs, *bodies))

    assert summary.by_status == {"loaded": 5}
    assert_nothing_lost(db, by_body(specs, *bodies))
    rows = {r.body: (r.rows_delivered, r.rows_loaded, r.rows_quarantined) for r in summary.results}
    assert rows == {
        "police": (8, 3, 5),
        "acute_trust": (2, 1, 1),
        "revenues_benefits": (3, 2, 1),
        "housing_provider": (3, 1, 2),
        "home_sensors": (4, 2, 2),
    }
    # Typed, with lineage; direct identifiers only as tokens or years.
    row = db.execute(
        "select _delivery_id, _period, length(_file_sha256), _source_row_number, _loaded_at,"
        " nominal_id_token, dob_year, incident_at, risk_grade from raw_police.incidents__lineage"
        " order by _source_row_number"
    ).fetchall()
    assert [r[3] for r in row] == [1, 5, 6]
    first = row[0]
    assert first[:4] == ("police/2026-02-03/incidents_2026-01.csv", "2026-01", 64, 1)
    assert first[4] is not None
    assert first[5] == Pseudonymiser().token("police:nominal_id", "NOM00001")
    assert first[6] == 1980 and first[7] == dt.datetime(2026, 1, 3, 10, 15)
    assert row[1][8] == "catastrophic"
    columns = {
        r[0]
        for r in db.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'raw_police' and table_name = 'incidents'"
        )
    }
    assert not columns & {"surname", "forename", "address", "postcode", "dob", "nominal_id"}
    # XLSX date cells and date strings both load; numbers keep their digits.
    assert db.execute(
        "select array_agg(date_of_birth_year order by _source_row_number),"
        " array_agg(uprn order by _source_row_number)"
        " from raw_revenues_benefits.council_tax_support"
    ).fetchone() == ([1975, 1980], ["100012345601", "100012345602"])
    # Identity holds the clear linkage fields of each person-bearing row, nothing else.
    person = db.execute(
        "select person_ref, given_name, family_name, date_of_birth, sex, postcode, address"
        " from identity.person_records where body = 'police' and _first_row_number = 6"
    ).fetchone()
    assert person == (
        "NOM00006", "JOHN", "SMITH", dt.date(1980, 2, 1), "M", "AB1 2CD",
        'Flat 2, "The Mill"\nMill Lane',
    )  # fmt: skip
    assert count(db, "identity.person_records") == 3 + 1 + 2 + 1
    tenant = db.execute(
        "select person_ref, given_name, uprn from identity.person_records"
        " where body = 'housing_provider'"
    ).fetchone()
    assert tenant == ("TEN1", "Sam", "10001")


def test_quarantine_keeps_original_line_column_and_reason(db, db_url, landing, specs):
    d.police_file(
        landing,
        "2026-02-03",
        "2026-01",
        [d.police_row(1), d.police_row(2, DOB="31-02-1980"), d.police_row(3, NOMINAL_ID=" ")],
    )
    path = landing / "police" / "2026-02-03" / "incidents_2026-01.csv"
    with path.open("ab") as handle:
        handle.write(b"INC9,NOM9\n")
        handle.write(b"INC10,NOM\xff10,A,B,01-02-1980,M,x,y,03/01/2026 10:15,theft,victim,high\n")
    sensors = d.folder(landing, "home_sensors", "2026-02-07") / "sensor_readings_2026-01.ndjson"
    sensors.write_text(d.sensor_line(1) + "\n{broken\n" + d.sensor_line(2, ts="01/01/2026") + "\n")
    load_landing(db_url, landing, by_body(specs, "police", "home_sensors"))

    quarantined = db.execute(
        "select entity, source_row_number, column_name, reason, original_line"
        " from ingestion.quarantine order by entity, source_row_number"
    ).fetchall()
    lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    assert quarantined[0] == (
        "incidents",
        2,
        "dob",
        "'31-02-1980' is not a date in format '%d-%m-%Y'",
        lines[2],
    )
    assert quarantined[1] == (
        "incidents",
        3,
        "nominal_id",
        "empty value in a column that must not be empty",
        lines[3],
    )
    assert quarantined[2] == ("incidents", 4, None, "expected 12 fields, found 2", "INC9,NOM9")
    assert quarantined[3][:3] == ("incidents", 5, None)
    assert "not valid utf-8" in quarantined[3][3] and quarantined[3][4].startswith("INC10,NOM")
    assert quarantined[4][:3] == ("sensor_readings", 2, None)
    assert quarantined[4][3].startswith("not valid JSON") and quarantined[4][4] == "{broken"
    assert quarantined[5][:3] == ("sensor_readings", 3, "reading_at")
    assert json.loads(quarantined[5][4])["ts"] == "01/01/2026"


def test_same_file_delivered_twice_loads_once(db, db_url, landing, specs):
    rows = [d.police_row(i) for i in range(1, 4)]
    d.police_file(landing, "2026-02-03", "2026-01", rows)
    d.police_file(landing, "2026-02-10", "2026-01", rows)  # the same bytes again
    police = by_body(specs, "police")
    first = load_landing(db_url, landing, police)
    again = load_landing(db_url, landing, police)  # a rerun changes nothing

    assert [r.status for r in first.results] == ["loaded", "duplicate"]
    assert [r.status for r in again.results] == ["already_recorded", "already_recorded"]
    assert count(db, "raw_police.incidents") == 3
    assert count(db, "identity.person_records") == 3
    entries = ledger(db)
    assert entries["police/2026-02-10/incidents_2026-01.csv"][0] == "duplicate"
    assert (
        "same bytes as police/2026-02-03" in entries["police/2026-02-10/incidents_2026-01.csv"][4]
    )


@pytest.mark.parametrize(
    ("row_by_row", "block_bytes"),
    [(True, None), (False, None), (False, 600)],
    ids=["row-by-row", "batches", "tiny-batches"],
)
def test_identity_holds_each_person_record_of_a_delivery_once(
    db, db_url, landing, specs, monkeypatch, row_by_row, block_bytes
):
    """Ten incidents naming the same person store that person once (the first row carrying the
    record); the same reference with a new address is a record of its own; the raw rows all
    stay, found through the person reference. With tiny batches the repeats fall in later
    batches of the same delivery."""
    from ingestion import batches

    if block_bytes:
        monkeypatch.setattr(batches, "BLOCK_BYTES", block_bytes)
    same = {"NOMINAL_ID": "NOM00001", "ADDRESS": "1 High Street, Townley"}
    rows = [d.police_row(i, **same) for i in range(1, 11)]
    rows.insert(4, d.police_row(11, NOMINAL_ID="NOM00001", ADDRESS="9 New Road, Townley"))
    rows.append(d.police_row(12))
    path = d.police_file(landing, "2026-02-03", "2026-01", rows)
    spec = by_body(specs, "police")[0]
    with psycopg.connect(db_url, autocommit=True) as conn:
        prepare_database(conn, [spec])
        result = load_delivery(
            conn, spec, delivery_for(spec, path), Pseudonymiser(), row_by_row=row_by_row
        )
    assert (result.status, result.rows_loaded) == ("loaded", 12)
    assert count(db, "raw_police.incidents") == 12
    records = db.execute(
        "select person_ref, address, _first_row_number, coalesce(_rows, 1)"
        " from identity.person_records left join identity.record_row_counts"
        " using (body, entity, _delivery_id, _first_row_number) order by _first_row_number"
    ).fetchall()
    # Each record with the delivered rows carrying it: linkage's weights.
    assert records == [
        ("NOM00001", "1 High Street, Townley", 1, 10),
        ("NOM00001", "9 New Road, Townley", 5, 1),
        ("NOM00012", "12 High Street, Townley", 12, 1),
    ]
    carried = db.execute(
        "select count(*) from raw_police.incidents as r join (select distinct person_ref_token"
        " from identity.person_records where person_ref = 'NOM00001') as p"
        " on p.person_ref_token = r.nominal_id_token"
    ).fetchone()[0]
    assert carried == 11
    # NOM00001 carries two records: each of its rows is listed with its own (row 5 the new
    # address), so it keeps that record's property; NOM00012's one row needs no list.
    listed = db.execute(
        "select _source_row_number, _first_row_number from identity.record_rows order by 1"
    ).fetchall()
    assert listed == [(n, 5 if n == 5 else 1) for n in range(1, 12)]


def test_linkage_weighs_a_persons_values_by_the_delivered_rows_carrying_them(
    db, db_url, landing, specs
):
    """A forename on three incidents of one month outvotes another on one incident in each of
    two later months: identity keeps one record per delivery, but linkage counts rows, as it
    did when identity held one row per delivered row."""
    from linkage.pipeline import read_person_records
    from linkage.store import PERSON_ROWS_SQL, read_frame

    person = {"NOMINAL_ID": "NOM00001", "ADDRESS": "1 High Street, Townley"}
    d.police_file(
        landing, "2026-02-03", "2026-01", [d.police_row(i, **person) for i in range(1, 4)]
    )
    for month in ("02", "03"):
        d.police_file(
            landing,
            f"2026-{month}-03",
            f"2026-{month}",
            [d.police_row(4, FORENAME="JON", **person)],
        )
    load_landing(db_url, landing, by_body(specs, "police"))
    votes = read_frame(db, PERSON_ROWS_SQL)
    assert sorted(zip(votes["given_name"], votes["rows"], strict=True)) == [("JOHN", 3), ("JON", 2)]
    assert read_person_records(db)["given_name"].tolist() == ["JOHN"]


def test_the_same_bytes_for_another_period_are_that_periods_delivery(db, db_url, landing, specs):
    # An unchanged register, or a month with nothing to report, repeats last month's bytes.
    rows = [d.police_row(1)]
    d.police_file(landing, "2026-02-03", "2026-01", rows)
    d.police_file(landing, "2026-03-03", "2026-02", rows)
    summary = load_landing(db_url, landing, by_body(specs, "police"))
    assert [r.status for r in summary.results] == ["loaded", "loaded"]
    assert count(db, "raw_police.incidents") == 2


def test_a_load_leaves_no_block_range_of_the_period_index_unsummarised(db, db_url, landing, specs):
    # A scan of a BRIN index returns every unsummarised range, so a build reading one delivered
    # period would read the whole raw table (raw_tables.summarize_new_ranges).
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(1, 4)])
    load_landing(db_url, landing, by_body(specs, "police"))
    newly_summarised = db.execute(
        "select brin_summarize_new_values('raw_police.incidents__period'::regclass)"
    ).fetchone()[0]
    assert count(db, "raw_police.incidents") == 3
    assert newly_summarised == 0


def test_block_ranges_summarised_during_a_load_still_find_each_periods_rows(
    db, db_url, landing, specs, monkeypatch
):
    # The batch loader summarises the period index after every batch (raw_tables.
    # summarize_new_ranges), the last range while it is still being filled: two periods
    # loaded in many small batches, over several block ranges each, must each be found whole
    # through the index, and only through their own ranges.
    from ingestion import batches

    monkeypatch.setattr(batches, "BLOCK_BYTES", 64 << 10)
    rows = 24_000
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(rows)])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(i) for i in range(rows)])
    summary = load_landing(db_url, landing, by_body(specs, "police"))
    assert [r.status for r in summary.results] == ["loaded", "loaded"]
    pages = db.execute("select pg_relation_size('raw_police.incidents') / 8192").fetchone()[0]
    assert pages > 4 * 128  # more than four block ranges of the index
    db.execute("set enable_seqscan = off")
    for period in ("2026-01", "2026-02"):
        plan = db.execute(
            "explain (analyze, format json) select count(*) from raw_police.incidents"
            " where _period = %s",
            (period,),
        ).fetchone()[0][0]["Plan"]["Plans"][0]
        assert plan["Node Type"] == "Bitmap Heap Scan"
        assert plan["Actual Rows"] == rows
        # Its own ranges and the one it shares with the other period, not the other's.
        assert plan["Lossy Heap Blocks"] <= pages / 2 + 2 * 128 < pages


def test_corrected_redelivery_replaces_the_period_and_a_late_older_file_does_not(
    db, db_url, landing, specs
):
    police = by_body(specs, "police")
    spec = police[0]
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(1, 4)])
    d.police_file(landing, "2026-02-03", "2026-02", [d.police_row(i) for i in range(7, 9)])
    load_landing(db_url, landing, police)
    corrected = d.police_file(
        landing, "2026-02-20", "2026-01", [d.police_row(i, RISK="medium") for i in range(1, 6)]
    )
    summary = load_landing(db_url, landing, police)
    assert [(r.status, r.replaced) for r in summary.results if r.status != "already_recorded"] == [
        ("loaded", "police/2026-02-03/incidents_2026-01.csv")
    ]
    periods = dict(
        db.execute("select _period, count(*) from raw_police.incidents group by 1").fetchall()
    )
    assert periods == {"2026-01": 5, "2026-02": 2}  # January replaced, February untouched
    assert db.execute(
        "select distinct _delivery_id, risk_grade from raw_police.incidents__lineage"
        " where _period = '2026-01'"
    ).fetchall() == [("police/2026-02-20/incidents_2026-01.csv", "medium")]
    assert count(db, "identity.person_records", "_period = '2026-01'") == 5
    # No primary key enforces it (it slowed every load): one identity row per record.
    assert db.execute(
        "select count(*), count(distinct (body, entity, _delivery_id, _first_row_number))"
        " from identity.person_records"
    ).fetchone() == (7, 7)
    assert ledger(db)["police/2026-02-03/incidents_2026-01.csv"][0] == "superseded"

    # A file delivered on an earlier date, found only now, must not overwrite the correction.
    late = d.police_file(landing, "2026-02-10", "2026-01", [d.police_row(99)])
    with psycopg.connect(db_url, autocommit=True) as conn:
        result = load_delivery(conn, spec, delivery_for(spec, late), Pseudonymiser())
    assert result.status == "superseded"
    assert "older than police/2026-02-20" in result.error
    assert count(db, "raw_police.incidents", "_period = '2026-01'") == 5
    assert ledger(db)[delivery_for(spec, corrected).delivery_id][0] == "loaded"


def test_replacement_is_atomic_when_the_correction_is_rejected(db, db_url, landing, specs):
    police = by_body(specs, "police")
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(1, 4)])
    load_landing(db_url, landing, police)
    broken = d.folder(landing, "police", "2026-02-20") / "incidents_2026-01.csv"
    d.write_csv(broken, d.POLICE_HEADER[:-1], [d.police_row(1)[:-1]])  # no RISK column
    summary = load_landing(db_url, landing, police)
    assert summary.by_status == {"already_recorded": 1, "rejected": 1}
    assert count(db, "raw_police.incidents") == 3  # the earlier delivery stays whole
    assert ledger(db)["police/2026-02-03/incidents_2026-01.csv"][0] == "loaded"


def _missing_column(landing: Path) -> Path:
    path = d.folder(landing, "police", "2026-02-03") / "incidents_2026-01.csv"
    header = [h for h in d.POLICE_HEADER if h != "DOB"]
    return d.write_csv(path, header, [d.police_row(1)[:4] + d.police_row(1)[5:]])


def _wrong_delimiter(landing: Path) -> Path:
    path = d.folder(landing, "acute_trust", "2026-02-03") / "ae_attendances_2026-01.txt"
    return d.write_csv(path, d.ACUTE_HEADER, [d.acute_row(1)], delimiter=",")


def _unreadable_encoding(landing: Path) -> Path:
    path = d.folder(landing, "police", "2026-02-03") / "incidents_2026-01.csv"
    return d.write_csv(path, d.POLICE_HEADER, [d.police_row(1)], encoding="utf-16")


def _empty(landing: Path) -> Path:
    path = d.folder(landing, "police", "2026-02-03") / "incidents_2026-01.csv"
    path.write_bytes(b"")
    return path


def _header_only(landing: Path) -> Path:
    path = d.folder(landing, "police", "2026-02-03") / "incidents_2026-01.csv"
    return d.write_csv(path, d.POLICE_HEADER, [])


def _oversized_field(landing: Path) -> Path:
    path = d.folder(landing, "police", "2026-02-03") / "incidents_2026-01.csv"
    return d.write_csv(path, d.POLICE_HEADER, [d.police_row(1, ADDRESS="x" * 200_000)])


def _invalid_json(landing: Path) -> Path:
    path = d.folder(landing, "housing_provider", "2026-02-03") / "tenancies_2026-01.json"
    path.write_text('{"tenancies": [{"tenancyRef": "T1"')
    return path


def _json_field_missing_everywhere(landing: Path) -> Path:
    path = d.folder(landing, "housing_provider", "2026-02-03") / "tenancies_2026-01.json"
    records = [d.tenancy(1), d.tenancy(2)]
    for record in records:
        del record["startDate"]
    return d.write_json(path, {"tenancies": records})


def _missing_sheet(landing: Path) -> Path:
    path = d.folder(landing, "revenues_benefits", "2026-02-03") / "council_tax_support_2026-01.xlsx"
    return d.write_xlsx(path, "Sheet1", d.CTS_HEADER, [d.cts_row(1)])


def _not_a_workbook(landing: Path) -> Path:
    path = d.folder(landing, "revenues_benefits", "2026-02-03") / "council_tax_support_2026-01.xlsx"
    path.write_text("Claim Ref,Claimant ID\n1,2\n")
    return path


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (_missing_column, "missing required column 'DOB'"),
        (_wrong_delimiter, "wrong delimiter: the header is a single field (it contains ',')"),
        (_unreadable_encoding, "cannot decode the header as utf-8"),
        (_empty, "empty file (0 bytes)"),
        (_invalid_json, "not valid JSON"),
        (_json_field_missing_everywhere, "missing required field 'startDate' in every record"),
        (_missing_sheet, "no worksheet 'CTS' (found Sheet1)"),
        (_not_a_workbook, "not a readable XLSX workbook"),
    ],
)
def test_a_file_that_cannot_be_read_is_rejected_whole(db, landing, specs, make, cause):
    path = make(landing)
    spec = next(s for s in specs if s.body == path.parent.parent.name)
    delivery = delivery_for(spec, path)
    prepare_database(db, specs)
    with pytest.raises(DeliveryRejected) as raised:
        load_delivery(db, spec, delivery, Pseudonymiser())
    message = str(raised.value)
    assert message.startswith(f"{path}: rejected: ") and cause in message
    status, delivered, loaded, quarantined, error = ledger(db)[delivery.delivery_id]
    assert status == "rejected" and cause in error and loaded is None
    entity = spec.entities_by_name[delivery.entity]
    assert count(db, f"{spec.raw_schema}.{entity.name}") == 0
    assert count(db, "ingestion.quarantine") == 0
    assert count(db, "identity.person_records") == 0


def test_a_field_over_the_csv_limit_quarantines_its_row_not_the_file(db, db_url, landing, specs):
    path = _oversized_field(landing)
    d.write_csv(path, d.POLICE_HEADER, [d.police_row(1, ADDRESS="x" * 200_000), d.police_row(2)])
    summary = load_landing(db_url, landing, by_body(specs, "police"))
    [result] = summary.results
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 1)
    reason = db.execute("select reason from ingestion.quarantine").fetchone()[0]
    assert "field larger than field limit" in reason
    assert_nothing_lost(db, by_body(specs, "police"))


def _multiline_oversize(row_number: int) -> list[str]:
    """A record whose quoted address spans lines, runs past the field limit and holds quotes
    and delimiters: read afresh from its next line, each of them would open a spurious record."""
    part = 'Flat 1, "The Maltings"\n' + "y" * 70_000 + "\n"
    return d.police_row(row_number, ADDRESS=part * 3 + 'end, "quoted" part')


def test_an_oversize_multiline_field_quarantines_its_record_and_the_rest_keep_their_rows(
    db, db_url, landing, specs
):
    rows = [d.police_row(1), _multiline_oversize(2), d.police_row(3), d.police_row(4)]
    d.police_file(landing, "2026-02-03", "2026-01", rows)
    summary = load_landing(db_url, landing, by_body(specs, "police"))
    [result] = summary.results
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 1)
    quarantined = db.execute(
        "select source_row_number, reason, original_line from ingestion.quarantine"
    ).fetchall()
    assert [(q[0], "field larger than field limit" in q[1]) for q in quarantined] == [(2, True)]
    assert quarantined[0][2].startswith("INC00002,") and quarantined[0][2].endswith(",high")
    loaded = db.execute(
        "select incident_no, _source_row_number from raw_police.incidents order by 2"
    ).fetchall()
    assert loaded == [("INC00001", 1), ("INC00003", 3), ("INC00004", 4)]
    assert_nothing_lost(db, by_body(specs, "police"))


def _as_calculated(workbook: bytes, values: dict[str, str]) -> bytes:
    """The workbook as a spreadsheet program saves it: each formula cell in ``values`` with the
    value it calculated ("": an empty result) and the workbook marked calculated (openpyxl
    writes formulas without values and asks for a full calculation on load)."""
    source, target = zipfile.ZipFile(io.BytesIO(workbook)), io.BytesIO()
    with zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            text = source.read(item).decode()
            if item.filename.startswith("xl/worksheets/"):
                for cell, value in values.items():
                    start = text.index(f'<c r="{cell}">')
                    end = text.index("</c>", start)
                    cached = text[start:end].replace("<v />", f"<v>{value}</v>")
                    text = text[:start] + cached + text[end:]
            elif item.filename == "xl/workbook.xml":
                text = text.replace(' fullCalcOnLoad="1"', "")
            copy.writestr(item, text.encode())
    return target.getvalue()


def test_a_formula_never_calculated_quarantines_its_row_naming_the_column_and_cell(
    db, db_url, landing, specs
):
    # Written by a library: no values, and the rows of a template's formulas copied down.
    uncalculated = d.folder(landing, "revenues_benefits", "2026-02-04")
    template_row = [None] * 10 + ["=K4*2", None]
    rows = [d.cts_row(1), d.cts_row(2, weekly="=10+2.5"), d.cts_row(3), template_row]
    d.write_xlsx(uncalculated / "council_tax_support_2026-01.xlsx", "CTS", d.CTS_HEADER, rows)
    # Saved by a spreadsheet program: a value for each formula, an empty result reads as empty.
    calculated = d.folder(landing, "revenues_benefits", "2026-03-04")
    workbook = d.write_xlsx(calculated / "council_tax_support_2026-02.xlsx", "CTS", d.CTS_HEADER,
                            [d.cts_row(1), d.cts_row(2, weekly="=10+2.5"),
                             d.cts_row(3, weekly='=IF(A4="","",1)')])  # fmt: skip
    workbook.write_bytes(_as_calculated(workbook.read_bytes(), {"K3": "12.5", "K4": ""}))
    load_landing(db_url, landing, by_body(specs, "revenues_benefits"))

    quarantined = db.execute(
        "select delivery_id, source_row_number, column_name, reason from ingestion.quarantine"
    ).fetchall()
    assert [q[:3] for q in quarantined] == [
        ("revenues_benefits/2026-02-04/council_tax_support_2026-01.xlsx", 2, "weekly_award")
    ]
    assert "'Weekly Award' (cell K3) holds a formula without a cached value" in quarantined[0][3]
    awards = db.execute(
        "select _period, _source_row_number, weekly_award::text"
        " from raw_revenues_benefits.council_tax_support order by 1, 2"
    ).fetchall()
    # 2026-02 row 2 holds the value the spreadsheet program calculated, row 3 its empty result.
    assert awards == [
        ("2026-01", 1, "12.5"), ("2026-01", 3, "12.5"),
        ("2026-02", 1, "12.5"), ("2026-02", 2, "12.5"), ("2026-02", 3, None),
    ]  # fmt: skip
    assert_nothing_lost(db, by_body(specs, "revenues_benefits"))


def test_a_header_without_rows_is_a_period_with_nothing_to_report(db, db_url, landing, specs):
    _header_only(landing)
    summary = load_landing(db_url, landing, by_body(specs, "police"))
    assert [(r.status, r.rows_delivered) for r in summary.results] == [("loaded", 0)]
    assert count(db, "raw_police.incidents") == 0


def test_a_rejected_file_does_not_stop_the_others(db, db_url, landing, specs):
    _empty(landing)
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(1)])
    summary = load_landing(db_url, landing, by_body(specs, "police"))
    assert summary.by_status == {"rejected": 1, "loaded": 1}
    assert "empty file" in summary.describe()
    assert count(db, "raw_police.incidents") == 1


def test_an_nhs_number_gets_the_same_token_in_every_body(db, db_url, landing, specs):
    spaced = f"{d.VALID_NHS[:3]} {d.VALID_NHS[3:6]} {d.VALID_NHS[6:]}"
    acute = d.folder(landing, "acute_trust", "2026-02-04") / "ae_attendances_2026-01.txt"
    d.write_csv(acute, d.ACUTE_HEADER, [d.acute_row(1, nhs=spaced), d.acute_row(2, nhs="")], "|")
    asc = d.folder(landing, "adult_social_care", "2026-02-04") / "care_contacts_2026-01.csv"
    d.write_csv(asc, d.ASC_HEADER, [d.asc_row(1), d.asc_row(2, nhs="1234567890")])
    load_landing(db_url, landing, by_body(specs, "acute_trust", "adult_social_care"))

    acute_rows = db.execute(
        "select nhs_number_token, nhs_number_is_valid from raw_acute_trust.ae_attendances"
        " order by _source_row_number"
    ).fetchall()
    asc_rows = db.execute(
        "select nhs_number_token, nhs_number_is_valid from raw_adult_social_care.care_contacts"
        " order by _source_row_number"
    ).fetchall()
    expected = Pseudonymiser().token("nhs_number", d.VALID_NHS)
    assert acute_rows[0] == asc_rows[0] == (expected, True)
    assert acute_rows[1] == (None, False)  # missing: no token, not valid
    assert asc_rows[1][1] is False and asc_rows[1][0] not in (None, expected)
    clear = db.execute(
        "select body, nhs_number from identity.person_records order by body, _first_row_number"
    ).fetchall()
    assert clear[0] == ("acute_trust", spaced) and clear[2] == ("adult_social_care", d.VALID_NHS)


def test_no_key_stops_the_load_with_a_clear_error(db_url, landing, specs, monkeypatch):
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    monkeypatch.delenv(KEY_VARIABLE)
    with pytest.raises(MissingKeyError, match=f"{KEY_VARIABLE} is not set"):
        load_landing(db_url, landing, by_body(specs, "police"))
    with psycopg.connect(db_url) as conn:
        schemas = conn.execute(
            "select count(*) from information_schema.schemata where schema_name = 'ingestion'"
        ).fetchone()[0]
    assert schemas == 0  # stopped before touching the database


def test_a_number_postgres_cannot_hold_is_quarantined_not_fatal(db, db_url, landing, specs):
    """1e999999 matches a number's shape but overflows numeric: that row alone is quarantined."""
    sensors = d.folder(landing, "home_sensors", "2026-02-07") / "sensor_readings_2026-01.ndjson"
    lines = [d.sensor_line(1), d.sensor_line(2, rh="1e999999"), d.sensor_line(3)]
    sensors.write_text("\n".join(lines) + "\n")
    load_landing(db_url, landing, by_body(specs, "home_sensors"))

    assert count(db, "raw_home_sensors.sensor_readings") == 2
    reason = db.execute(
        "select column_name, reason from ingestion.quarantine where source_row_number = 2"
    ).fetchone()
    assert reason == ("relative_humidity", "'1e999999' is out of range for a number")
    assert_nothing_lost(db, by_body(specs, "home_sensors"))


def test_a_correction_identical_to_the_loaded_file_is_a_duplicate(db, db_url, landing, specs):
    """The demo region's old edge case: a body's 'correction' that repeats the loaded file's
    bytes for the same period changes nothing and is recorded as a duplicate (the simulator
    now always corrects something), while the same empty extract for two periods is each
    period's own delivery."""
    police = by_body(specs, "police")
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(1)])
    d.police_file(landing, "2026-02-20", "2026-01", [d.police_row(1)])  # a 'correction'
    d.police_file(landing, "2026-03-03", "2026-02", [])
    d.police_file(landing, "2026-04-03", "2026-03", [])  # the same header-only bytes
    summary = load_landing(db_url, landing, police)
    assert [r.status for r in summary.results] == ["loaded", "duplicate", "loaded", "loaded"]
    entries = ledger(db)
    assert entries["police/2026-02-20/incidents_2026-01.csv"][4] == (
        "same bytes as police/2026-02-03/incidents_2026-01.csv"
    )
    assert entries["police/2026-04-03/incidents_2026-03.csv"][:3] == ("loaded", 0, 0)
    assert count(db, "raw_police.incidents") == 1
