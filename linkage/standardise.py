"""Bring each body's clear identifiers to one form before comparing them.

Bodies write names in different cases and with accents or punctuation, dates in several
formats, postcodes with or without the space, sex in four code lists, NHS numbers with
spaces. Linkage compares only the standardised columns made here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import pandas as pd

from ingestion.identifiers import nhs_number_is_valid
from ingestion.identity_fields import IDENTITY_FIELDS
from linkage.names import canonical_given_name

# The identity fields the person linker compares (ingestion.identity_fields owns the list).
STANDARD_FIELDS = tuple(field.name for field in IDENTITY_FIELDS if field.compared)

_NOT_LETTERS = re.compile(r"[^A-Z ]+")
_NOT_ADDRESS = re.compile(r"[^A-Z0-9 ]+")
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_NOT_DIGITS = re.compile(r"\D")
# British in shape, mistypes allowed (an O for a 0): outward code, then three characters.
_BRITISH_SHAPED = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9A-Z][A-Z0-9]{2}$")
_NOT_IDENTIFIER = re.compile(r"[^A-Z0-9]")

# How postcodes are standardised: "auto" UK-standardises British-shaped values and keeps any
# other (another country's) trimmed and upper-cased; "uk" treats every value as British;
# "as_given" only trims and upper-cases.
POSTCODE_FORMATS = ("auto", "uk", "as_given")

# Further identifiers (a membership or case number...) travel as columns with this prefix.
IDENTIFIER_PREFIX = "id_"

SEX_CODES = {
    "M": "M",
    "MALE": "M",
    "1": "M",
    "F": "F",
    "FEMALE": "F",
    "2": "F",
}

# Street-type abbreviations as bodies type them, expanded so that RD and ROAD agree.
ADDRESS_WORDS = {
    "RD": "ROAD",
    "ST": "STREET",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "LN": "LANE",
    "DR": "DRIVE",
    "CT": "COURT",
    "CL": "CLOSE",
    "CRES": "CRESCENT",
    "GDNS": "GARDENS",
    "GRN": "GREEN",
    "GR": "GROVE",
    "PL": "PLACE",
    "SQ": "SQUARE",
    "TER": "TERRACE",
    "TERR": "TERRACE",
    "WK": "WALK",
    "FLT": "FLAT",
}

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y%m%d", "%Y/%m/%d", "%d.%m.%Y")


def _plain_upper(value: object) -> str:
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.upper()


def standard_name(value: object) -> str | None:
    """Upper case letters only; hyphens and apostrophes joined so O'NEILL equals ONEILL."""
    if value is None or pd.isna(value):
        return None
    text = _plain_upper(value).replace("'", "").replace("-", " ")
    text = _SPACES.sub(" ", _NOT_LETTERS.sub("", text)).strip()
    return text or None


def first_token(value: str | None) -> str | None:
    return value.split(" ", 1)[0] if value else None


def standard_family_name(value: object) -> str | None:
    text = standard_name(value)
    return text.replace(" ", "") if text else None


def standard_date(value: object, date_format: str | Sequence[str] | None = None) -> str | None:
    """ISO date text; an unparseable value becomes missing rather than failing the run.

    `date_format`: one strptime format or several tried in order; else DATE_FORMATS.
    """
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    text = str(value).strip()
    if isinstance(date_format, str):
        formats: Sequence[str] = (date_format,)
    else:
        formats = tuple(date_format) if date_format else DATE_FORMATS
    for fmt in formats:
        try:
            return (
                datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date().isoformat()
            )
        except ValueError:
            continue
    return None


def standard_postcode(value: object, postcode_format: str = "auto") -> str | None:
    """A British postcode upper case with one space before the inward code (the last three
    characters); another country's postcode trimmed, upper case, single-spaced, as given.

    `postcode_format` is one of POSTCODE_FORMATS; "uk" drops what is too short to be British.
    """
    if value is None or pd.isna(value):
        return None
    text = _NOT_ALNUM.sub("", _plain_upper(value))
    british = postcode_format == "uk" or (
        postcode_format == "auto" and bool(_BRITISH_SHAPED.match(text))
    )
    if british:
        return f"{text[:-3]} {text[-3:]}" if len(text) >= 5 else None
    kept = _SPACES.sub(" ", str(value).strip().upper())
    return kept or None


def standard_sex(value: object) -> str | None:
    """M or F; unknown, not stated and X carry no evidence, so they become missing."""
    if value is None or pd.isna(value):
        return None
    return SEX_CODES.get(str(value).strip().upper())


def standard_address(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    text = _SPACES.sub(" ", _NOT_ADDRESS.sub(" ", _plain_upper(value))).strip()
    words = [ADDRESS_WORDS.get(w, w) for w in text.split(" ") if w]
    return " ".join(words) or None


def nhs_digits(value: object) -> str | None:
    """The ten digits of an NHS number as typed, valid or not (a mistyped one still counts)."""
    if value is None or pd.isna(value):
        return None
    digits = _NOT_DIGITS.sub("", str(value))
    return digits if len(digits) == 10 else None


def standard_identifier(value: object) -> str | None:
    """Letters and digits only, upper case: "m-00123 4" and "M001234" agree."""
    if value is None or pd.isna(value):
        return None
    text = _NOT_IDENTIFIER.sub("", _plain_upper(value))
    return text or None


def identifier_fields(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c.startswith(IDENTIFIER_PREFIX)]


def each_distinct(values: pd.Series, function) -> pd.Series:
    """`function` of each value, computed once per distinct value: names, dates and
    postcodes repeat a great deal, and a million records hold far fewer distinct values."""
    present = values[values.notna()]
    lookup = {value: function(value) for value in pd.unique(present)}
    return values.map(lookup).astype(object)


def standardise(
    frame: pd.DataFrame,
    date_format: str | Sequence[str] | None = None,
    postcode_format: str = "auto",
) -> pd.DataFrame:
    """The comparison columns of linkage from a frame holding the standard fields.

    Missing fields are allowed (all values missing); extra columns are kept as they are,
    except further identifiers (`id_*` columns), which are standardised too.
    """
    out = frame.copy()
    identifiers = identifier_fields(out.columns)
    for field in (*STANDARD_FIELDS, *identifiers):
        if field not in out.columns:
            out[field] = None
        # pandas 3 marks a missing string as NaN (a float); the functions below want None.
        out[field] = out[field].astype(object).where(out[field].notna(), None)
    given = each_distinct(out["given_name"], lambda v: first_token(standard_name(v)))
    out["given_name"] = given
    out["given_name_canonical"] = each_distinct(given, canonical_given_name)
    out["family_name"] = each_distinct(out["family_name"], standard_family_name)
    out["date_of_birth"] = each_distinct(
        out["date_of_birth"], lambda v: standard_date(v, date_format)
    )
    out["sex"] = each_distinct(out["sex"], standard_sex)
    out["postcode"] = each_distinct(
        out["postcode"], lambda v: standard_postcode(v, postcode_format)
    )
    out["address"] = each_distinct(out["address"], standard_address)
    out["nhs_number"] = each_distinct(out["nhs_number"], nhs_digits)
    out["nhs_number_valid"] = each_distinct(
        out["nhs_number"], lambda v: v if nhs_number_is_valid(v) else None
    )
    for column in identifiers:
        out[column] = each_distinct(out[column], standard_identifier)
    for column in (*STANDARD_FIELDS, *identifiers, "given_name_canonical", "nhs_number_valid"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def empty_shares(records: pd.DataFrame, fields: Iterable[str]) -> dict[str, float]:
    """Share of records with no usable value, per field, after standardisation."""
    if records.empty:
        return {}
    return {f: round(float(records[f].isna().mean()), 4) for f in fields if f in records}
