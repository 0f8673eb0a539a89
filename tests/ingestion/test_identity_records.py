"""identity.person_records at its grain: one row per distinct person record per delivery."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ingestion.distinct_records import DistinctRecords, _RowSpill
from ingestion.folder_load import prepare_database
from ingestion.identity_fields import FIELD_NAMES, LINKAGE_ROLES
from ingestion.spec import LinkageRole


def test_the_spec_roles_and_the_identity_columns_come_from_one_list(db, specs):
    assert LinkageRole.__args__ == LINKAGE_ROLES == ("person_ref", *FIELD_NAMES)
    prepare_database(db, specs)
    columns = [
        r[0]
        for r in db.execute(
            "select column_name from information_schema.columns where table_schema = 'identity'"
            " and table_name = 'person_records' order by ordinal_position"
        )
    ]
    start = columns.index("person_ref") + 1
    assert tuple(columns[start : start + len(FIELD_NAMES)]) == FIELD_NAMES


def test_both_ways_of_asking_agree_on_what_is_new():
    """Row by row and in columns, across batches; a null is not an empty string, and values
    that would run together when joined stay apart."""
    rows = [
        ("t1", "a", None), ("t1", "a", None), ("t1", "a", ""), ("t1", "ab", "c"),
        ("t1", "a", "bc"), ("t2", "a", None),
    ]  # fmt: skip
    by_row = DistinctRecords()
    kept_by_row = [i for i, row in enumerate(rows) if by_row.first_time(row, row[0], i + 1)]
    by_batch = DistinctRecords()
    kept_by_batch = []
    for start in (0, 3):
        batch = rows[start : start + 3]
        columns = [pa.array(list(column), pa.string()) for column in zip(*batch, strict=True)]
        numbers = np.arange(start + 1, start + 1 + len(batch))
        kept = by_batch.first_rows(columns, columns[0], numbers)
        kept_by_batch += [start + i for i in kept.tolist()]
    assert kept_by_row == kept_by_batch == [0, 2, 3, 4, 5]
    # t1 carries four records: each of its rows is listed with its record's first row.
    listed = [
        (r.tolist(), f.tolist()) for r, f in (by_row.ambiguous_rows(), by_batch.ambiguous_rows())
    ]
    assert listed[0] == listed[1] == ([1, 2, 3, 4, 5], [1, 1, 3, 4, 5])
    # Only the first record is carried by more than one row (rows 1 and 2).
    repeated = [
        (f.tolist(), n.tolist()) for f, n in (r.repeated_records() for r in (by_row, by_batch))
    ]
    assert repeated[0] == repeated[1] == ([1], [2])


def test_an_identity_table_of_the_former_layout_is_brought_to_the_new_grain(db, specs):
    db.execute("create schema identity")
    db.execute(
        "create table identity.person_records (body text not null, entity text not null,"
        " _delivery_id text not null, _period text not null,"
        " _source_row_number integer not null, person_ref_token text not null,"
        " person_ref text not null, given_name text, family_name text, date_of_birth date,"
        " sex text, postcode text, address text, nhs_number text, uprn text,"
        " _loaded_at timestamptz not null default now())"
    )
    db.execute(
        "insert into identity.person_records (body, entity, _delivery_id, _period,"
        " _source_row_number, person_ref_token, person_ref, given_name, address) values"
        " ('police', 'incidents', 'd1', '2026-01', 1, 't', 'N1', 'ANN', null),"
        " ('police', 'incidents', 'd1', '2026-01', 2, 't', 'N1', 'ANN', null),"
        " ('police', 'incidents', 'd1', '2026-01', 3, 't', 'N1', 'ANN', '9 New Road'),"
        " ('police', 'incidents', 'd2', '2026-02', 1, 't', 'N1', 'ANN', null)"
    )
    prepare_database(db, specs)
    # Each record keeps the count of the rows that carried it: linkage's weights are unchanged.
    assert db.execute(
        "select _delivery_id, _first_row_number, address, coalesce(_rows, 1)"
        " from identity.person_records left join identity.record_row_counts"
        " using (body, entity, _delivery_id, _first_row_number) order by 1, 2"
    ).fetchall() == [("d1", 1, None, 2), ("d1", 3, "9 New Road", 1), ("d2", 1, None, 1)]


def test_an_identity_of_distinct_records_without_counts_gets_an_empty_count_table(db, specs):
    """Made before the counts: how many rows carried each record is not known any more, so each
    counts once (as linkage weighed them until then)."""
    prepare_database(db, specs)
    db.execute(
        "insert into identity.person_records (body, entity, _delivery_id, _period,"
        " _first_row_number, person_ref_token, person_ref) values"
        " ('police', 'incidents', 'd1', '2026-01', 1, 't', 'N1')"
    )
    db.execute("drop table identity.record_row_counts")
    prepare_database(db, specs)
    assert db.execute("select count(*) from identity.record_row_counts").fetchone() == (0,)
    assert db.execute("select count(*) from identity.person_records").fetchone() == (1,)


def test_the_batch_key_tells_apart_what_joining_would_run_together():
    """Each half of a record's key in the batch path is the same in any batch and differs for
    records that differ only in where a value is split, or in null against empty."""
    from ingestion.distinct_records import row_keys

    rows = [("a", "bc"), ("ab", "c"), (None, ""), ("", None), ("", ""), (None, None)]
    columns = [pa.array(list(column), pa.string()) for column in zip(*rows, strict=True)]
    high, low = row_keys(columns)
    assert len(set(high.tolist())) == len(set(low.tolist())) == len(rows)
    alone = row_keys([column.slice(2, 1) for column in columns])
    assert (alone[0][0], alone[1][0]) == (high[2], low[2])
    assert not (high == low).any()  # two seeds, two different hash functions


def test_a_record_repeated_within_and_across_batches_is_kept_once_at_its_first_row():
    seen = DistinctRecords()
    first = [pa.array(["a", "b", "a", "c", "b"]), pa.array(["x", None, "x", "z", None])]
    assert seen.first_rows(first, first[0], np.arange(1, 6)).tolist() == [0, 1, 3]
    second = [pa.array(["c", "d", "a", "d"]), pa.array(["z", "w", None, "w"])]
    assert seen.first_rows(second, second[0], np.arange(6, 10)).tolist() == [1, 2]
    assert seen.first_rows(second, second[0], np.arange(10, 14)).tolist() == []
    # The rows carrying each record (first rows 1, 2, 4, 7 and 8), every one more than once.
    first_rows, counts = seen.repeated_records()
    assert (first_rows.tolist(), counts.tolist()) == ([1, 2, 4, 7, 8], [2, 2, 3, 4, 2])
    # Only "a" carries two records (rows 1 and 3 the first, 8 the second).
    rows, records = seen.ambiguous_rows()
    assert (rows.tolist(), records.tolist()) == ([1, 3, 8, 12], [1, 1, 8, 8])


@pytest.mark.parametrize("part_rows", [1 << 20, 7], ids=["one-part", "parts-of-7-rows"])
def test_both_ways_list_the_same_rows_of_references_with_several_records(monkeypatch, part_rows):
    """Many references, some with several records, over many batches: the batch path keeps the
    row path's first rows and lists the same rows with the same records, whether its spilled
    rows are read back in one part or in many."""
    monkeypatch.setattr(_RowSpill, "PART_ROWS", part_rows)
    rng = np.random.default_rng(17)
    refs = rng.integers(0, 300, 3000).astype(str)
    addresses = rng.choice(["1 High St", "9 New Rd", None], 3000, p=[0.8, 0.1, 0.1])
    rows = list(zip(refs.tolist(), addresses.tolist(), strict=True))
    by_row = DistinctRecords()
    kept_by_row = [i for i, row in enumerate(rows) if by_row.first_time(row, row[0], i + 1)]
    by_batch = DistinctRecords()
    kept_by_batch = []
    for start in range(0, len(rows), 250):
        batch = rows[start : start + 250]
        columns = [pa.array(list(column), pa.string()) for column in zip(*batch, strict=True)]
        numbers = np.arange(start + 1, start + 1 + len(batch))
        kept_by_batch += (start + by_batch.first_rows(columns, columns[0], numbers)).tolist()
    assert kept_by_row == kept_by_batch
    listed_by_row, listed_by_batch = by_row.ambiguous_rows(), by_batch.ambiguous_rows()
    assert 0 < len(listed_by_row[0]) < len(rows)
    for by_row_part, by_batch_part in zip(listed_by_row, listed_by_batch, strict=True):
        assert by_row_part.tolist() == by_batch_part.tolist()
    # Both count the rows carrying each record as counting the rows themselves does.
    expected: dict[tuple, list[int]] = {}
    for number, row in enumerate(rows, 1):
        expected.setdefault(row, [number, 0])[1] += 1
    repeated = sorted(tuple(v) for v in expected.values() if v[1] > 1)
    assert repeated
    for counted in (by_row.repeated_records(), by_batch.repeated_records()):
        assert sorted(zip(*(part.tolist() for part in counted), strict=True)) == repeated


def test_the_end_rows_are_written_in_parts_that_together_hold_every_row(monkeypatch):
    """identity's end-of-delivery rows go to COPY a part at a time (``loader.END_ROWS_PART``),
    so a delivery of millions of records never holds all their text at once: the parts,
    read back, are every row once, in order, with the delivery's head on each."""
    import csv
    import io

    from ingestion import loader
    from ingestion.raw_tables import RECORD_ROW_COUNTS_COLUMNS, RECORD_ROW_COUNTS_TABLE

    monkeypatch.setattr(loader, "END_ROWS_PART", 3)
    head = ("police", "incidents", "police/2026-02-03/incidents_2026-01.csv", "2026-01")
    first_rows, counts = np.arange(1, 21, 2), np.arange(2, 12)
    end = loader.EndRows(
        RECORD_ROW_COUNTS_TABLE, RECORD_ROW_COUNTS_COLUMNS, head, (first_rows, counts)
    )
    parts = list(loader.end_parts([end]))
    assert [len(p.rows.data.splitlines()) for p in parts] == [3, 3, 3, 1]
    read = []
    for part in parts:
        delimiter = "\t" if part.rows.format == "text" else ","
        read += list(csv.reader(io.StringIO(part.rows.data.decode()), delimiter=delimiter))
    assert read == [[*head[:3], str(f), str(c)] for f, c in zip(first_rows, counts, strict=True)]
    assert {p.table for p in parts} == {RECORD_ROW_COUNTS_TABLE}
