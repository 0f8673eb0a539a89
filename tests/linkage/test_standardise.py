"""Standardisation: every body's way of writing a value comes out the same."""

from datetime import date

import pandas as pd
import pytest

from linkage.standardise import (
    nhs_digits,
    standard_address,
    standard_date,
    standard_postcode,
    standard_sex,
    standardise,
)


@pytest.mark.parametrize(
    "code,expected",
    [
        ("1", "M"),
        ("Male", "M"),
        ("f", "F"),
        ("2", "F"),
        ("9", None),
        ("X", None),
        ("Unknown", None),
        ("U", None),
    ],
)
def test_sex_codes_of_every_body(code, expected):
    assert standard_sex(code) == expected


def test_postcode_gets_one_space_before_the_inward_code():
    assert standard_postcode("ls11ab") == "LS1 1AB"
    assert standard_postcode(" LS1   1AB ") == "LS1 1AB"
    assert standard_postcode("x", "uk") is None
    # Another country's postcode is kept as given, trimmed and upper case.
    assert standard_postcode(" 1012 ab ") == "1012 AB"
    assert standard_postcode("75001") == "75001"
    assert standard_postcode("x") == "X"


def test_dates_in_each_bodys_format():
    assert standard_date("25/12/2010") == "2010-12-25"
    assert standard_date("25-12-2010") == "2010-12-25"
    assert standard_date("20101225") == "2010-12-25"
    assert standard_date(date(2010, 12, 25)) == "2010-12-25"
    assert standard_date("not a date") is None


def test_address_abbreviations_expand():
    assert standard_address("10, High St.") == "10 HIGH STREET"
    assert standard_address("10 High Street") == "10 HIGH STREET"


def test_nhs_number_spacing_ignored_and_validity_checked():
    assert nhs_digits("943 476 5919") == "9434765919"
    frame = standardise(pd.DataFrame({"nhs_number": ["943 476 5919", "9434765918", None]}))
    assert frame["nhs_number_valid"].tolist() == ["9434765919", None, None]


def test_names_lose_accents_punctuation_and_nicknames():
    frame = standardise(
        pd.DataFrame({"given_name": ["Zoë Ann", "BILL"], "family_name": ["O'Brien-Smith", "x"]})
    )
    assert frame["given_name"].tolist() == ["ZOE", "BILL"]
    assert frame["given_name_canonical"].tolist() == ["ZOE", "WILLIAM"]
    assert frame["family_name"].tolist()[0] == "OBRIENSMITH"
