"""Data minimisation: prove that a mart holds no clear identifiers, by column name and by content.

Findings never quote an identifier: examples are masked before they reach Dagster's metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import Connection, sql

from ingestion.identifiers import nhs_number_is_valid

UPRN = "UPRN"
# Column names that announce a direct identifier. Area-level names (lsoa_name, ward_name) and
# partial postcodes (postcode_district, postcode_sector) are not personal and are not matched.
IDENTIFIER_NAMES: dict[str, re.Pattern[str]] = {
    "person name": re.compile(
        r"^(name|full_name|person_name|forenames?|surname|given_names?|family_name|"
        r"first_name|last_name|middle_names?|maiden_name)$"
    ),
    "date of birth": re.compile(r"(^|_)(dob|date_of_birth|birth_date|birthdate|born_on)($|_)"),
    "NHS number": re.compile(r"(^|_)nhs(_?(number|no|num))?($|_)"),
    "full postcode": re.compile(r"^(full_)?post_?code(_full)?$"),
    "address": re.compile(r"(^|_)address(_line)?(\d|_|$)"),
    "telephone number": re.compile(r"(^|_)(phone|telephone|mobile)(_|$)"),
    "email address": re.compile(r"(^|_)e?mail(_address)?$"),
    "national insurance number": re.compile(r"(^|_)(nino|ni_number|national_insurance)(_|$)"),
    "unique pupil number": re.compile(r"^upn$"),
    # A UPRN is a public address identifier, not a pseudonym: anyone can look one up.
    UPRN: re.compile(r"(^|_)uprns?($|_)"),
}

POSTCODE_BODY = r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]?\s*[0-9][A-Za-z]{2}"
NHS_BODY = r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}"
# UPRNs are up to 12 digits; a text column of digit strings, nearly all of them and many
# distinct, looks like one (codes of areas and premises carry letters).
UPRN_BODY = r"[0-9]{5,12}"


def _whole_value(body: str) -> str:
    return rf"^\s*(?:{body})\s*$"


POSTCODE = _whole_value(POSTCODE_BODY)
NHS_SHAPE = _whole_value(NHS_BODY)
UPRN_SHAPE = _whole_value(UPRN_BODY)
# Matches exactly the values that match one of the three: one regex per value, not three.
ANY_SHAPE = _whole_value("|".join((POSTCODE_BODY, NHS_BODY, UPRN_BODY)))
# A number whose text is NHS-shaped has ten digits: a range test instead of a cast and a regex.
NHS_NUMBER_RANGE = (10**9, 10**10 - 1)
UPRN_MIN_SHARE = 0.9
UPRN_MIN_DISTINCT = 10
TEXT_TYPES = {"text", "character varying", "character"}
NUMBER_TYPES = {"bigint", "integer", "numeric"}
DATE_TYPES = {"date", "timestamp without time zone", "timestamp with time zone"}
# A date column looks like dates of birth when nearly all values lie more than this many years
# back and they spread over many years (event dates in the marts are recent months).
DOB_MIN_AGE_YEARS = 10
DOB_MIN_DISTINCT_YEARS = 20


@dataclass(frozen=True)
class PrivacyFinding:
    column: str
    rule: str
    detected_by: str  # "name" or "content"
    detail: str

    def as_dict(self) -> dict:
        return {
            "column": self.column,
            "rule": self.rule,
            "detected_by": self.detected_by,
            "detail": self.detail,
        }


def mask(value: object) -> str:
    text = str(value)
    return text[:2] + "*" * max(len(text) - 2, 0)


def columns_of(conn: Connection, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table),
    ).fetchall()


def name_findings(columns: list[str]) -> list[PrivacyFinding]:
    findings = []
    for column in columns:
        for rule, pattern in IDENTIFIER_NAMES.items():
            if pattern.search(column.lower()):
                findings.append(PrivacyFinding(column, rule, "name", f"column name matches {rule}"))
                break
    return findings


def _nhs_numbers(conn: Connection, table: sql.Composable, column: str, kind: str) -> list[str]:
    col = sql.Identifier(column)
    value = col if kind in TEXT_TYPES else sql.SQL("{}::text").format(col)
    candidates = conn.execute(
        sql.SQL("select distinct {v} from {t} where {v} ~ %s limit 1000").format(v=value, t=table),
        (NHS_SHAPE,),
    ).fetchall()
    return [c for (c,) in candidates if nhs_number_is_valid(c)]


def _may_break_a_rule(
    conn: Connection, relation: sql.Composable, columns: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The columns whose content may break a rule, screened in one scan of the table.

    A query per rule and column read a large mart some 30 times (early_intervention_features:
    187 s at a million residents), most of it a cast and a regex on every count. The screen is
    true of every value the rules below match, so only the columns it flags need their queries.
    """
    screens: list[sql.Composable] = []
    params: list = []
    for column, kind in columns:
        col = sql.Identifier(column)
        if kind in TEXT_TYPES:
            screens.append(sql.SQL("count(*) filter (where {} ~ %s) > 0").format(col))
            params.append(ANY_SHAPE)
        elif kind in NUMBER_TYPES:
            screens.append(sql.SQL("count(*) filter (where {} between %s and %s) > 0").format(col))
            params.extend(NHS_NUMBER_RANGE)
        elif kind in DATE_TYPES:
            screens.append(
                sql.SQL(
                    "count(*) filter (where {c} < now() - make_interval(years => %s))"
                    " >= 0.9 * count({c}) and count({c}) > 0"
                ).format(c=col)
            )
            params.append(DOB_MIN_AGE_YEARS)
        else:
            screens.append(sql.SQL("false"))
    if not screens:
        return []
    flags = conn.execute(
        sql.SQL("select {} from {}").format(sql.SQL(", ").join(screens), relation), params
    ).fetchone()
    return [c for c, flagged in zip(columns, flags, strict=True) if flagged]


def content_findings(
    conn: Connection, schema: str, table: str, columns: list[tuple[str, str]]
) -> list[PrivacyFinding]:
    findings = []
    relation = sql.Identifier(schema, table)
    for column, kind in _may_break_a_rule(conn, relation, columns):
        col = sql.Identifier(column)
        if kind in TEXT_TYPES:
            postcodes = conn.execute(
                sql.SQL("select count(*), min({c}) from {t} where {c} ~ %s").format(
                    c=col, t=relation
                ),
                (POSTCODE,),
            ).fetchone()
            if postcodes[0]:
                findings.append(
                    PrivacyFinding(
                        column,
                        "full postcode",
                        "content",
                        f"{postcodes[0]} values are full postcodes, e.g. {mask(postcodes[1])}",
                    )
                )
                continue
            shaped, distinct, present = conn.execute(
                sql.SQL(
                    "select count(*) filter (where {c} ~ %s),"
                    " count(distinct {c}) filter (where {c} ~ %s), count({c}) from {t}"
                ).format(c=col, t=relation),
                (UPRN_SHAPE, UPRN_SHAPE),
            ).fetchone()
            if present and shaped >= UPRN_MIN_SHARE * present and distinct >= UPRN_MIN_DISTINCT:
                findings.append(
                    PrivacyFinding(
                        column,
                        UPRN,
                        "content",
                        f"{shaped} of {present} values ({distinct} distinct) are UPRN-shaped "
                        "digit strings: an address identifier",
                    )
                )
                continue
        if kind in TEXT_TYPES or kind in NUMBER_TYPES:
            valid = _nhs_numbers(conn, relation, column, kind)
            if valid:
                findings.append(
                    PrivacyFinding(
                        column,
                        "NHS number",
                        "content",
                        f"{len(valid)} distinct values are valid NHS numbers "
                        f"(modulus 11), e.g. {mask(valid[0])}",
                    )
                )
        if kind in DATE_TYPES:
            old, total, years = conn.execute(
                sql.SQL(
                    "select count(*) filter (where {c} < now() - make_interval(years => %s)), "
                    "count({c}), count(distinct extract(year from {c})) from {t}"
                ).format(c=col, t=relation),
                (DOB_MIN_AGE_YEARS,),
            ).fetchone()
            if total and old >= 0.9 * total and years >= DOB_MIN_DISTINCT_YEARS:
                findings.append(
                    PrivacyFinding(
                        column,
                        "date of birth",
                        "content",
                        f"{old} of {total} dates are over {DOB_MIN_AGE_YEARS} years old, "
                        f"spread over {years} years: they look like dates of birth",
                    )
                )
    return findings


def check_privacy(
    conn: Connection, schema: str, table: str, allowed: frozenset[str] = frozenset()
) -> list[PrivacyFinding]:
    """Every clear identifier found in ``schema.table``; an empty list means it may be shown.

    ``allowed``: rules a mart may break because its readers' purpose needs it (only ``UPRN``,
    for record-level marts read for an address purpose: ``quality.access.may_carry_address``).
    """
    columns = columns_of(conn, schema, table)
    if not columns:
        raise LookupError(f"{schema}.{table} does not exist or has no columns")
    by_name = name_findings([c for c, _ in columns])
    named = {f.column for f in by_name}
    found = by_name + content_findings(
        conn, schema, table, [(c, k) for c, k in columns if c not in named]
    )
    return [f for f in found if f.rule not in allowed]
