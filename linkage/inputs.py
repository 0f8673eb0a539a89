"""Any person table to the linker's standard fields, through a column mapping.

A mapping names, for the standard fields, the column that holds each one::

    {"record_id": "client_ref", "given_name": "first_name", "family_name": "last_name",
     "date_of_birth": "dob", "sex": "gender", "postcode": "postcode",
     "address": "address", "nhs_number": "nhs_no", "date_format": "%d/%m/%Y"}

Every standard field is optional (a missing one is treated as unknown for every record), but a
useful linkage needs names and a date of birth. `record_id` defaults to the row number and
`source` (a column naming the data set of each row) to the table's position or file name.
One mapping may serve all tables, or a list gives one mapping per table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml

from jigsaw.database import sqlalchemy_url
from linkage.standardise import STANDARD_FIELDS

MAPPING_KEYS = (*STANDARD_FIELDS, "record_id", "source", "date_format")

TableInput = pd.DataFrame | tuple[str, str] | str | Path


class MappingError(ValueError):
    pass


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str]
    record_id: str | None = None
    source: str | None = None
    date_format: str | None = None

    @classmethod
    def from_dict(cls, mapping: dict) -> ColumnMapping:
        unknown = set(mapping) - set(MAPPING_KEYS)
        if unknown:
            raise MappingError(
                f"unknown mapping keys {sorted(unknown)}; allowed: {', '.join(MAPPING_KEYS)}"
            )
        columns = {k: v for k, v in mapping.items() if k in STANDARD_FIELDS and v}
        if not {"given_name", "family_name"} & set(columns):
            raise MappingError("a mapping needs at least a given_name or family_name column")
        return cls(
            columns, mapping.get("record_id"), mapping.get("source"), mapping.get("date_format")
        )

    def needed(self) -> list[str]:
        wanted = [*self.columns.values(), self.record_id, self.source]
        return list(dict.fromkeys(c for c in wanted if c))


def read_mapping(path: str | Path) -> dict:
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
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


def load_table(table: TableInput, mapping: dict | ColumnMapping, position: int) -> pd.DataFrame:
    """The table's rows as (source, record_id, standard fields...), still unstandardised."""
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
    for field in STANDARD_FIELDS:
        column = mapping.columns.get(field)
        out[field] = frame[column] if column else None
    return out.reset_index(drop=True)
