"""Row building without a database: typing, privacy and the fast token path."""

from __future__ import annotations

import datetime as dt

import pytest

from ingestion.landing import delivery_for, find_deliveries
from ingestion.pseudonymise import Pseudonymiser
from ingestion.raw_rows import RowBuilder, RowProblem, token_function
from ingestion.spec import SourceSpec


def test_fast_tokens_equal_the_pseudonymiser_tokens():
    for key in (b"short", b"k" * 64, b"a-key-longer-than-the-sha256-block-" * 3):
        pseudonymiser = Pseudonymiser(key)
        for domain, value in [
            ("nhs_number", "943 476 5919"),
            ("police:nominal_id", " nom  001 "),
            ("schools:upn", "A123456789012"),
            ("x", "Zoë"),
            ("x", "   "),
        ]:
            assert token_function(pseudonymiser, domain)(value) == pseudonymiser.token(
                domain, value
            )


def _builder(specs: list[SourceSpec], body: str, entity: str) -> RowBuilder:
    spec = next(s for s in specs if s.body == body)
    return RowBuilder(
        body, spec.entities_by_name[entity], Pseudonymiser(b"k"), ("id", "p", "sha"), ("b", "e")
    )


def test_a_row_is_typed_and_pseudonymised(specs):
    build = _builder(specs, "acute_trust", "ae_attendances").build
    values = [
        "A1", "M1", "9434765919", "Ann", "Jones", "19800201", "2", "2 Low St", "AB1 2CE",
        "2026-01-05 22:10:00", "respiratory", "003", "admitted",
    ]  # fmt: skip
    raw, identity = build(values, 7)
    token = Pseudonymiser(b"k").token
    assert raw == (
        "id", "p", "sha", 7, "A1", token("acute_trust:mrn", "M1"),
        token("nhs_number", "9434765919"), "t", "1980", "2", "2026-01-05 22:10:00",
        "respiratory", "3", "admitted",
    )  # fmt: skip
    assert identity == (
        "b", "e", 7, token("acute_trust:mrn", "M1"), "M1", "Ann", "Jones", "1980-02-01", "2",
        "AB1 2CE", "2 Low St", "9434765919", None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (5, "1980-02-01", "'1980-02-01' is not a date in format '%Y%m%d'"),
        (11, "3.5", "'3.5' is not an integer"),
        (11, "99999999999", "'99999999999' is out of range for an integer"),
        (9, "", "empty value in a column that must not be empty"),
    ],
)
def test_a_bad_value_names_its_column_and_reason(specs, column, value, reason):
    build = _builder(specs, "acute_trust", "ae_attendances").build
    values = [
        "A1", "M1", "", "Ann", "Jones", "19800201", "2", "x", "y", "2026-01-05 22:10:00", "other",
        "3", "admitted",
    ]  # fmt: skip
    values[column] = value
    with pytest.raises(RowProblem) as raised:
        build(values, 1)
    names = [
        "attendance_id", "mrn", "nhs_number", "forename", "surname", "date_of_birth", "sex",
        "address", "postcode", "arrived_at", "diagnosis_group", "acuity", "disposal",
    ]  # fmt: skip
    assert (raised.value.column, raised.value.reason) == (names[column], reason)


def test_workbook_date_cells_and_numbers(specs):
    build = _builder(specs, "revenues_benefits", "council_tax_support").build
    values = [
        "C1", "R1", "Mary", "Brown", dt.datetime(1975, 6, 30), "QQ1", "a", "p", "100",
        dt.datetime(2025, 4, 1), "12.50", "active",
    ]  # fmt: skip
    raw, identity = build(values, 1)
    assert raw[-4:] == ("100", "2025-04-01", "12.50", "active") and "1975" in raw
    assert identity[7] == "1975-06-30"


def test_landing_files_map_to_deliveries(tmp_path, specs):
    police = next(s for s in specs if s.body == "police")
    folder = tmp_path / "police" / "2026-02-03"
    folder.mkdir(parents=True)
    (folder / "incidents_2026-01.csv").write_text("x")
    (folder / "notes.txt").write_text("x")
    (tmp_path / "police" / "not-a-date").mkdir()
    (tmp_path / "police" / "not-a-date" / "incidents_2026-01.csv").write_text("x")
    found = find_deliveries(tmp_path, [police])
    assert [f.delivery_id for f in found] == ["police/2026-02-03/incidents_2026-01.csv"]
    assert found[0].period == "2026-01" and found[0].entity == "incidents"
    assert delivery_for(police, folder / "notes.txt") is None
