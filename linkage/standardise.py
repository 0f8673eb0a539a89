"""Bring each body's clear identifiers to one form before comparing them.

Bodies write names in different cases and with accents or punctuation, dates in several
formats, postcodes with or without the space, sex in four code lists, NHS numbers with
spaces. Linkage compares only the standardised columns made here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import pandas as pd

from ingestion.identifiers import nhs_number_is_valid
from linkage.names import canonical_given_name

STANDARD_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
    "address",
    "nhs_number",
)

_NOT_LETTERS = re.compile(r"[^A-Z ]+")
_NOT_ADDRESS = re.compile(r"[^A-Z0-9 ]+")
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_NOT_DIGITS = re.compile(r"\D")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")

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

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y%m%d", "%Y/%m/%d")


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


def standard_date(value: object, date_format: str | None = None) -> str | None:
    """ISO date text; an unparseable value becomes missing rather than failing the run."""
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    text = str(value).strip()
    formats = (date_format,) if date_format else DATE_FORMATS
    for fmt in formats:
        try:
            return (
                datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date().isoformat()
            )
        except ValueError:
            continue
    return None


def standard_postcode(value: object) -> str | None:
    """Upper case with a single space before the inward code (the last three characters)."""
    if value is None or pd.isna(value):
        return None
    text = _NOT_ALNUM.sub("", str(value).upper())
    if len(text) < 5:
        return None
    return f"{text[:-3]} {text[-3:]}"


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


def standardise(frame: pd.DataFrame, date_format: str | None = None) -> pd.DataFrame:
    """The comparison columns of linkage from a frame holding the standard fields.

    Missing fields are allowed (all values missing); extra columns are kept as they are.
    """
    out = frame.copy()
    for field in STANDARD_FIELDS:
        if field not in out.columns:
            out[field] = None
        # pandas 3 marks a missing string as NaN (a float); the functions below want None.
        out[field] = out[field].astype(object).where(out[field].notna(), None)
    given = out["given_name"].map(standard_name).astype(object)
    out["given_name"] = given.map(lambda v: first_token(v) if isinstance(v, str) else None)
    out["given_name_canonical"] = out["given_name"].map(
        lambda v: canonical_given_name(v) if isinstance(v, str) else None
    )
    out["family_name"] = out["family_name"].map(standard_family_name)
    out["date_of_birth"] = out["date_of_birth"].map(lambda v: standard_date(v, date_format))
    out["sex"] = out["sex"].map(standard_sex)
    out["postcode"] = out["postcode"].map(standard_postcode)
    out["address"] = out["address"].map(standard_address)
    out["nhs_number"] = out["nhs_number"].map(nhs_digits)
    out["nhs_number_valid"] = out["nhs_number"].map(
        lambda v: v if isinstance(v, str) and nhs_number_is_valid(v) else None
    )
    for column in (*STANDARD_FIELDS, "given_name_canonical", "nhs_number_valid"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def looks_like_postcode(value: str | None) -> bool:
    return bool(value) and bool(_POSTCODE.match(value.replace(" ", "")))
