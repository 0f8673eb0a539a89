"""A light, independent reader of delivered files against their source spec.

The real loader lives in ingestion/; this reader exists so the simulator's tests do not
depend on it, and so a disagreement between the two shows up as a failing test somewhere.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from openpyxl import load_workbook

from ingestion.spec import Column, Entity


class FileRejected(ValueError):
    pass


def check_value(column: Column, value) -> str | None:
    """None when the value is acceptable for the column, else the reason."""
    if value is None or value == "":
        return None if column.nullable else "empty value in a non-nullable column"
    if isinstance(value, datetime | date):
        return None if column.type in ("date", "timestamp") else "date in a non-date column"
    text = str(value)
    try:
        if column.type in ("date", "timestamp"):
            datetime.strptime(text, column.format)
        elif column.type == "integer":
            int(text)
        elif column.type == "numeric":
            Decimal(text)
    except (ValueError, InvalidOperation):
        return f"{text!r} is not a {column.type}"
    if column.allowed_values is not None and text not in column.allowed_values:
        return f"{text!r} not in allowed values"
    return None


def _get(record: dict, dotted: str):
    for key in dotted.split("."):
        if not isinstance(record, dict) or key not in record:
            return KeyError
        record = record[key]
    return record


def read_records(entity: Entity, path: Path) -> list[dict | str]:
    """Each data row as {column name: value}, or a string saying why the row is bad.

    Raises FileRejected when the whole file cannot be read under the spec.
    """
    data = path.read_bytes()
    if not data and entity.format == "ndjson":
        return []  # a month without readings
    if not data:
        raise FileRejected("empty file")
    if entity.format == "xlsx":
        return _read_xlsx(entity, data)
    try:
        text_lines = data.split(b"\n")
        if entity.format == "json":
            document = json.loads(data.decode("utf-8"))
            records = _get(document, entity.json_path)
            if not isinstance(records, list):
                raise FileRejected("json_path does not hold an array")
            return [_from_mapping(entity, r) for r in records]
        if entity.format == "ndjson":
            out: list[dict | str] = []
            for raw in text_lines:
                if not raw:
                    continue
                try:
                    out.append(_from_mapping(entity, json.loads(raw.decode("utf-8"))))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    out.append(f"unreadable line: {exc}")
            return out
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileRejected(str(exc)) from exc
    return _read_csv(entity, text_lines)


def _from_mapping(entity: Entity, record: dict) -> dict | str:
    row = {}
    for column in entity.columns:
        value = _get(record, column.source_name)
        if value is KeyError:
            if column.required:
                return f"missing key {column.source_name}"
            value = None
        reason = check_value(column, value)
        if reason:
            return f"{column.name}: {reason}"
        row[column.name] = value
    return row


def _read_csv(entity: Entity, lines: list[bytes]) -> list[dict | str]:
    dialect = entity.dialect
    try:
        header_text = lines[0].decode(dialect.encoding)
    except UnicodeDecodeError as exc:
        raise FileRejected(f"header not {dialect.encoding}") from exc
    header = next(
        csv.reader([header_text], delimiter=dialect.delimiter, quotechar=dialect.quotechar)
    )
    missing = [c.source_name for c in entity.columns if c.required and c.source_name not in header]
    if missing:
        raise FileRejected(f"missing required columns {missing}")
    out: list[dict | str] = []
    for raw in lines[1:]:
        if not raw:
            continue
        try:
            text = raw.decode(dialect.encoding)
        except UnicodeDecodeError:
            out.append("bad encoding")
            continue
        fields = next(csv.reader([text], delimiter=dialect.delimiter, quotechar=dialect.quotechar))
        if len(fields) != len(header):
            out.append(f"{len(fields)} fields, header has {len(header)}")
            continue
        out.append(_from_mapping(entity, dict(zip(header, fields, strict=True))))
    return out


def _read_xlsx(entity: Entity, data: bytes) -> list[dict | str]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip
        raise FileRejected(f"unreadable workbook: {exc}") from exc
    if entity.sheet not in workbook.sheetnames:
        raise FileRejected(f"no sheet {entity.sheet}")
    rows = workbook[entity.sheet].iter_rows(values_only=True)
    header = list(next(rows))
    missing = [c.source_name for c in entity.columns if c.required and c.source_name not in header]
    if missing:
        raise FileRejected(f"missing required columns {missing}")
    out: list[dict | str] = []
    for values in rows:
        record = dict(zip(header, values, strict=True))
        for column in entity.columns:
            value = record.get(column.source_name)
            if column.type == "date" and value is not None and not isinstance(value, datetime):
                record[column.source_name] = f"{value}\x00"  # a text cell is not a date cell
        out.append(_from_mapping(entity, {k: v for k, v in record.items()}))
    workbook.close()
    return out
