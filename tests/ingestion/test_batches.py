"""The Arrow twins of the per-value rules (ingestion.batches) against the rules themselves."""

from __future__ import annotations

import random
import string

import numpy as np
import pyarrow as pa
import pytest

from ingestion import batches
from ingestion.identifiers import nhs_check_digit, nhs_number_is_valid
from ingestion.pseudonymise import DEMO_KEY, UPRN_DOMAIN, Pseudonymiser, normalise
from ingestion.raw_rows import RowProblem, column_converter
from ingestion.spec import Entity


def ascii_values(count: int = 3000, seed: int = 3) -> list[str]:
    """Identifiers, numbers and noise, with the spaces and punctuation bodies send."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + " -./+e\t\x1c\x0b"
    values = [
        "", " ", "0", "00", "+", "-.5", "1.", ".", "1e5", "0000000000", "9434765919",
        "943 476 5919", " 9434765919", "943-476-5919\t", "P0001", "a  b", "x\x1cy",
    ]  # fmt: skip
    for _ in range(count):
        kind = rng.randrange(4)
        if kind == 0:
            first = f"{rng.randrange(10**9):09d}"
            check = nhs_check_digit(first)
            values.append(first + str(check if check is not None else rng.randrange(10)))
        elif kind == 1:
            values.append(f"{rng.choice(['', '+', '-'])}{rng.randrange(10**6) / 100}")
        else:
            size = rng.randrange(1, 14)
            values.append("".join(rng.choice(alphabet) for _ in range(size)))
    return values


def date_values(count: int = 8000, seed: int = 4) -> list[str]:
    """Dates in the three shapes the date columns below read, real and impossible ones."""
    rng = random.Random(seed)
    values = ["29/02/2000", "29/02/1900", "31/04/2020", "00/01/2020", "1/1/0000", "1/13/2020"]
    for _ in range(count):
        year = rng.choice([rng.randrange(1, 10_000), rng.randrange(1890, 2030)])
        month, day = rng.randrange(0, 14), rng.randrange(0, 33)
        shape = rng.randrange(4)
        if shape == 0:
            values.append(f"{day}/{month:02d}/{year:04d}")
        elif shape == 1:
            values.append(f"{year:04d}-{month}-{day:02d}")
        elif shape == 2:
            values.append(f"{month}.{year:04d}")
        else:
            values.append(f"{day:03d}/{month}/{year}")
    return values


@pytest.mark.parametrize("domain", ["nhs_number", UPRN_DOMAIN, "police:nominal_id"])
def test_normalise_ascii_is_normalise(domain):
    values = [v for v in ascii_values() if v.strip() == v and v]
    got = batches.normalise_ascii(domain, pa.array(values)).to_pylist()
    assert got == [normalise(domain, v) for v in values]


def test_nhs_numbers_valid_is_nhs_number_is_valid():
    values = ascii_values()
    got = batches.nhs_numbers_valid(pa.array(values)).tolist()
    expected = [nhs_number_is_valid(v) for v in values]
    assert got == expected
    assert sum(expected) > 500  # the check saw valid numbers, not only invalid ones


def entity(*columns: dict) -> Entity:
    return Entity.model_validate(
        {"name": "things", "description": "d", "format": "csv", "file_pattern": "t_{period}.csv",
         "primary_key": [columns[0]["name"]], "columns": list(columns)}
    )  # fmt: skip


@pytest.mark.parametrize(
    "column",
    [
        {"name": "amount", "type": "numeric", "description": "d"},
        {"name": "person", "privacy": "token", "linkage": "person_ref", "description": "d"},
        {"name": "nhs", "privacy": "token", "linkage": "nhs_number", "description": "d"},
        {"name": "uprn", "privacy": "token", "token_domain": "uprn", "description": "d"},
        {
            "name": "dob",
            "type": "date",
            "format": "%d/%m/%Y",
            "privacy": "year",
            "description": "d",
        },
        {"name": "seen", "type": "date", "format": "%Y-%m-%d", "description": "d"},
        {"name": "month", "type": "date", "format": "%m.%Y", "description": "d"},
    ],
    ids=lambda c: c["name"],
)
def test_vector_conversions_agree_with_the_column_converter(column):
    columns = [column] if column.get("linkage") != "nhs_number" else [
        {"name": "person", "privacy": "token", "linkage": "person_ref", "description": "d"},
        column,
    ]  # fmt: skip
    things = entity(*columns)
    spec_column = things.column(column["name"])
    pseudonymiser = Pseudonymiser(DEMO_KEY.encode())
    vector = batches._vector_conversion("body", things, spec_column, pseudonymiser)
    convert = column_converter("body", things, spec_column, pseudonymiser)
    values = ascii_values() + (date_values() if column.get("type") == "date" else [])
    simple, outputs, clear = vector(pa.array(values))
    assert simple.sum() > 1000
    rows = list(zip(*(o.to_pylist() for o in outputs), strict=True))
    for value, part, clear_value in zip(
        np.array(values, object)[simple],
        np.array(rows, object)[simple],
        np.array(clear.to_pylist(), object)[simple],
        strict=True,
    ):
        try:
            expected = convert(value)
        except RowProblem:
            pytest.fail(f"{value!r} is a problem to the converter, simple to the vector")
        assert (tuple(part), clear_value) == expected, value
