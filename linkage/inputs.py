"""Any person table to the linker's standard fields, through a column mapping.

A mapping names, for the standard fields, the column that holds each one::

    {"record_id": "client_ref", "given_name": "first_name", "family_name": "last_name",
     "date_of_birth": "dob", "sex": "gender", "postcode": "postcode",
     "address": ["house", "street", "town"],          # one column, or several joined in order
     "nhs_number": "nhs_no",
     "identifiers": ["member_no"],                     # or {"member": "member_no", ...}
     "formats": {"date_of_birth": "%d.%m.%Y",          # or a list of formats tried in order
                 "postcode": "auto"},                  # auto | uk | as_given
     "link_type": "link_only",                         # link_only | dedupe_only | link_and_dedupe
     "twins_guard": True}

Every standard field is optional (a missing one is treated as unknown for every record), but a
useful linkage needs names and a date of birth. `record_id` defaults to the row number and
`source` (a column naming the data set of each row) to the table's position or file name.
One mapping may serve all tables, or a list gives one mapping per table. Identifiers given
as a list are matched across tables by position (`id_1`, `id_2`, ...), given as a mapping by
name (`id_<name>`). `date_format` is kept as a short form of `formats: {date_of_birth: ...}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml

from jigsaw.database import sqlalchemy_url
from linkage.standardise import (
    IDENTIFIER_PREFIX,
    POSTCODE_FORMATS,
    STANDARD_FIELDS,
    each_distinct,
    standard_date,
    standard_postcode,
)

LINK_TYPES = ("link_only", "dedupe_only", "link_and_dedupe")
FORMATTED_FIELDS = ("date_of_birth", "postcode")
MAPPING_KEYS = (
    *STANDARD_FIELDS,
    "record_id",
    "source",
    "identifiers",
    "formats",
    "date_format",
    "link_type",
    "twins_guard",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

TableInput = pd.DataFrame | tuple[str, str] | str | Path


class MappingError(ValueError):
    pass


def _column_name(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"mapping key '{key}': expected a column name (text), got {value!r}")
    return value


def _address_columns(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (_column_name("address", value),)
    if isinstance(value, list | tuple) and value:
        return tuple(_column_name("address", v) for v in value)
    raise MappingError(
        f"mapping key 'address': expected a column name or a list of column names, got {value!r}"
    )


def _identifiers(value: object) -> dict[str, str]:
    """Field name (id_...) -> column."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return {
            f"{IDENTIFIER_PREFIX}{i}": _column_name("identifiers", c)
            for i, c in enumerate(value, start=1)
        }
    if isinstance(value, dict):
        out = {}
        for name, column in value.items():
            if not isinstance(name, str) or not _NAME.match(name):
                raise MappingError(
                    f"mapping key 'identifiers': name {name!r} must be lower case letters, "
                    "digits and _ (starting with a letter)"
                )
            out[f"{IDENTIFIER_PREFIX}{name}"] = _column_name("identifiers", column)
        return out
    raise MappingError(
        "mapping key 'identifiers': expected a list of column names or a mapping of "
        f"name: column, got {value!r}"
    )


def _date_formats(key: str, value: object) -> tuple[str, ...]:
    formats = [value] if isinstance(value, str) else value
    if not isinstance(formats, list | tuple) or not formats:
        raise MappingError(f"mapping key '{key}': expected a strptime format or a list of them")
    for fmt in formats:
        if not isinstance(fmt, str) or "%" not in fmt:
            raise MappingError(
                f"mapping key '{key}': {fmt!r} is not a strptime format (e.g. %d.%m.%Y)"
            )
    return tuple(formats)


def _formats(mapping: dict) -> dict:
    given = mapping.get("formats") or {}
    if not isinstance(given, dict):
        raise MappingError(f"mapping key 'formats': expected field: format pairs, got {given!r}")
    unknown = set(given) - set(FORMATTED_FIELDS)
    if unknown:
        raise MappingError(
            f"mapping key 'formats': no format for {sorted(unknown)}; "
            f"formats apply to {', '.join(FORMATTED_FIELDS)}"
        )
    out: dict = {"postcode": "auto", "date_of_birth": None}
    if mapping.get("date_format") is not None:
        out["date_of_birth"] = _date_formats("date_format", mapping["date_format"])
    if given.get("date_of_birth") is not None:
        out["date_of_birth"] = _date_formats("formats.date_of_birth", given["date_of_birth"])
    if "postcode" in given:
        if given["postcode"] not in POSTCODE_FORMATS:
            raise MappingError(
                f"mapping key 'formats.postcode': {given['postcode']!r} is not one of "
                f"{', '.join(POSTCODE_FORMATS)}"
            )
        out["postcode"] = given["postcode"]
    return out


GUARD_SETTINGS = {"enabled": bool, "given_name_similarity": float, "born_apart_days": int}


def _is_a(value: object, kind: type) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    return isinstance(value, int) or (kind is float and isinstance(value, float))


def _twins_guard(value: object) -> bool | dict | None:
    """true/false, or the guard's settings (see linkage.linker.TwinsGuard)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        unknown = set(value) - set(GUARD_SETTINGS)
        if unknown:
            raise MappingError(
                f"mapping key 'twins_guard': unknown settings {sorted(unknown)}; "
                f"allowed: {', '.join(GUARD_SETTINGS)}"
            )
        for name, kind in GUARD_SETTINGS.items():
            given = value.get(name)
            if given is not None and not _is_a(given, kind):
                raise MappingError(
                    f"mapping key 'twins_guard.{name}': expected {kind.__name__}, got {given!r}"
                )
        return dict(value)
    raise MappingError(
        f"mapping key 'twins_guard': expected true, false or settings, got {value!r}"
    )


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str]
    record_id: str | None = None
    source: str | None = None
    date_format: tuple[str, ...] | None = None
    address: tuple[str, ...] = ()
    identifiers: dict[str, str] = field(default_factory=dict)
    postcode_format: str = "auto"
    link_type: str | None = None
    twins_guard: bool | dict | None = None

    @classmethod
    def from_dict(cls, mapping: dict) -> ColumnMapping:
        if not isinstance(mapping, dict):
            raise MappingError(f"a mapping must be field: column pairs, got {mapping!r}")
        unknown = set(mapping) - set(MAPPING_KEYS)
        if unknown:
            raise MappingError(
                f"unknown mapping keys {sorted(unknown)}; allowed: {', '.join(MAPPING_KEYS)}"
            )
        columns = {
            k: _column_name(k, v)
            for k, v in mapping.items()
            if k in STANDARD_FIELDS and k != "address" and v
        }
        if not {"given_name", "family_name"} & set(columns):
            raise MappingError(
                "mapping keys 'given_name'/'family_name': a mapping needs at least one of them"
            )
        for key in ("record_id", "source"):
            if mapping.get(key) is not None:
                _column_name(key, mapping[key])
        link_type = mapping.get("link_type")
        if link_type is not None and link_type not in LINK_TYPES:
            raise MappingError(
                f"mapping key 'link_type': {link_type!r} is not one of {', '.join(LINK_TYPES)}"
            )
        guard = _twins_guard(mapping.get("twins_guard"))
        formats = _formats(mapping)
        return cls(
            columns,
            mapping.get("record_id"),
            mapping.get("source"),
            formats["date_of_birth"],
            _address_columns(mapping["address"]) if mapping.get("address") else (),
            _identifiers(mapping.get("identifiers")),
            formats["postcode"],
            link_type,
            guard,
        )

    def needed(self) -> list[str]:
        wanted = [
            *self.columns.values(),
            *self.address,
            *self.identifiers.values(),
            self.record_id,
            self.source,
        ]
        return list(dict.fromkeys(c for c in wanted if c))

    def mapped_fields(self) -> list[str]:
        return [*self.columns, *(["address"] if self.address else []), *self.identifiers]


def read_mapping(path: str | Path) -> dict:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise MappingError(f"{path}: a mapping file must be a YAML mapping of field: column")
    return document


def _read(table: TableInput, mapping: ColumnMapping) -> tuple[pd.DataFrame, str | None]:
    if isinstance(table, pd.DataFrame):
        return table, None
    if isinstance(table, tuple):
        url, name = table
        schema, _, bare = name.rpartition(".")
        columns = ", ".join(f'"{c}"' for c in mapping.needed())
        qualified = f'"{schema}"."{bare}"' if schema else f'"{bare}"'
        engine = sa.create_engine(sqlalchemy_url(url))
        try:
            with engine.connect() as conn:
                return pd.read_sql(sa.text(f"select {columns} from {qualified}"), conn), name
        finally:
            engine.dispose()
    path = Path(table)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]), path.stem


def _joined(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Address parts joined in order with ", ", skipping empty parts."""
    parts = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None)
    return pd.Series(
        [
            ", ".join(str(v).strip() for v in row if v is not None and str(v).strip()) or None
            for row in parts.itertuples(index=False, name=None)
        ],
        index=frame.index,
        dtype=object,
    )


def load_table(table: TableInput, mapping: dict | ColumnMapping, position: int) -> pd.DataFrame:
    """The table's rows as (source, record_id, standard fields, id_*...).

    Dates of birth are already in ISO form and postcodes standardised, each by the table's
    own declared format; the other fields are as delivered.
    """
    mapping = mapping if isinstance(mapping, ColumnMapping) else ColumnMapping.from_dict(mapping)
    frame, name = _read(table, mapping)
    missing = [c for c in mapping.needed() if c not in frame.columns]
    if missing:
        raise MappingError(f"table {name or position}: mapped columns not found: {missing}")
    out = pd.DataFrame(index=frame.index)
    out["source"] = (
        frame[mapping.source].astype(str) if mapping.source else (name or f"table_{position}")
    )
    out["record_id"] = (
        frame[mapping.record_id].astype(str)
        if mapping.record_id
        else pd.Series(range(1, len(frame) + 1), index=frame.index).astype(str)
    )
    for standard in STANDARD_FIELDS:
        column = mapping.columns.get(standard)
        out[standard] = frame[column] if column else None
    if mapping.address:
        out["address"] = _joined(frame, mapping.address)
    out["date_of_birth"] = each_distinct(
        out["date_of_birth"], lambda v: standard_date(v, mapping.date_format)
    )
    out["postcode"] = each_distinct(
        out["postcode"], lambda v: standard_postcode(v, mapping.postcode_format)
    )
    for identifier, column in mapping.identifiers.items():
        out[identifier] = frame[column]
    return out.reset_index(drop=True)
