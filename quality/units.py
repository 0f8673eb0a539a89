"""The units and kinds a mart column's description may state, defined once.

Every mart column's description ends with ``Unit: <unit>.``, a unit from UNITS, so an analyst
reading the column comment in the database (dbt persists descriptions) knows whether a number
counts persons or contacts, is a share or a rate, is in metres, months or pounds. Each unit
lists the PostgreSQL types (by their name's start) a column of that unit may have, so a
"count" that is really a share, or a "flag" stored as text, is caught.
"""

from __future__ import annotations

import re

_WHOLE = ("integer", "bigint", "smallint")
_DECIMAL = ("numeric", "double precision", "real")

UNITS: dict[str, tuple[str, ...]] = {
    # keys and labels
    "pseudonymous key": ("text",),
    "surrogate key": ("text",),
    "identifier": ("text",),
    "code": ("text",),
    "name": ("text",),
    "category": ("text",),
    "list": ("text",),
    # time
    "date": ("date",),
    "date (first of month)": ("date",),
    "years": _WHOLE,
    "months": _WHOLE,
    # counts
    "count of persons": _WHOLE,
    "count of properties": _WHOLE,
    "count of bodies": _WHOLE,
    "count of contacts": _WHOLE,
    "count of incidents": _WHOLE,
    "count of attendances": _WHOLE,
    "count of exclusions": _WHOLE,
    "count of plans": _WHOLE,
    "count of repairs": _WHOLE,
    "count of premises": _WHOLE,
    "count of days": _WHOLE,
    "count of months": _WHOLE,
    "count of half-day sessions": _WHOLE,
    # measures
    "metres": _DECIMAL + _WHOLE,
    "pounds": _DECIMAL,
    "percent": _DECIMAL,
    "proportion 0 to 1": _DECIMAL,
    "rate per 1,000": _DECIMAL,
    "ratio": _DECIMAL,
    "score 0 to 1": _DECIMAL,
    "score 0 to 4": _WHOLE,
    "rank 1 to 10": _WHOLE,
    "flag true/false": ("boolean",),
}

_STATED = re.compile(r"Unit: (?P<unit>[^.]+)\.\s*$")


def stated_unit(description: str) -> str | None:
    """The unit a column description ends with (``... Unit: months.``), or None."""
    match = _STATED.search(description or "")
    return match["unit"] if match else None


def unit_problem(description: str, data_type: str) -> str | None:
    """Why a mart column's description does not state a unit fit for its type, or None."""
    unit = stated_unit(description)
    if unit is None:
        return "the description does not end with 'Unit: <unit>.'"
    if unit not in UNITS:
        return f"unit {unit!r} is not one of quality.units.UNITS"
    if not data_type.lower().startswith(UNITS[unit]):
        return f"unit {unit!r} does not fit data type {data_type!r}"
    return None
