"""Encode rows in each body's native format, exactly as its source spec describes.

Rows are dicts keyed by spec column name holding Python values (str, int, float, date,
datetime or None). Row corruption is applied here because only the encoder knows what a
"bad date" or a "wrong column count" looks like in its format. Output is bytes, so that
duplicates can be re-delivered byte for byte and determinism can be tested.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from typing import Any

from ingestion.demo_region.xlsx import write_xlsx
from ingestion.spec import Column, Entity

ROW_CORRUPTIONS = {
    "csv": ("bad_date", "column_count", "bad_encoding"),
    "xlsx": ("bad_date", "bad_number"),
    "json": ("bad_date",),
    "ndjson": ("bad_date", "truncated_line"),
}
FILE_CORRUPTIONS = {
    "csv": ("missing_column", "wrong_delimiter", "utf16", "empty"),
    "xlsx": ("missing_column", "garbage", "empty"),
    "json": ("missing_column", "truncated", "utf16", "empty"),
    # No "empty" for NDJSON: a month without readings is a legitimately empty file.
    "ndjson": ("missing_column", "utf16"),
}


def row_corruptions(entity: Entity) -> tuple[str, ...]:
    """The row corruptions that make sense for an entity (no bad dates without a date)."""
    kinds = ROW_CORRUPTIONS[entity.format]
    if _date_column(entity) is None:
        kinds = tuple(k for k in kinds if k != "bad_date")
    return kinds


def text_value(column: Column, value: Any) -> str | None:
    if value is None:
        return None
    if column.type in ("date", "timestamp") and isinstance(value, date):
        return value.strftime(column.format)
    return str(value)


def bad_date(column: Column, value: Any) -> str:
    """A value in the column's own layout that no calendar has: month 13."""
    when = value if isinstance(value, date) else date(2024, 1, 15)
    return when.strftime(column.format.replace("%m", "13"))


def _date_column(entity: Entity) -> Column | None:
    return next((c for c in entity.columns if c.type in ("date", "timestamp")), None)


def _delivered_columns(entity: Entity, file_corruption: str | None) -> list[Column]:
    """The spec's columns, less a required one when the file is to miss a column."""
    columns = list(entity.columns)
    if file_corruption == "missing_column":
        dropped = next(c for c in columns if c.required and not c.nullable)
        columns = [c for c in columns if c is not dropped]
    return columns


def _encode_text(text: str, file_corruption: str | None) -> bytes:
    """UTF-8 as the specs say, unless the whole file is to be UTF-16 or empty."""
    if file_corruption == "utf16":
        return text.encode("utf-16")
    if file_corruption == "empty":
        return b""
    return text.encode("utf-8")


def _csv_field(text: str, delimiter: str, quote: str) -> str:
    if delimiter in text or quote in text or "\n" in text or "\r" in text:
        return quote + text.replace(quote, quote * 2) + quote
    return text


def encode_csv(
    entity: Entity, rows: list[dict], corrupt: dict[int, str], file_corruption: str | None = None
) -> bytes:
    dialect = entity.dialect
    delimiter, quote = dialect.delimiter, dialect.quotechar
    columns = _delivered_columns(entity, file_corruption)
    if file_corruption == "wrong_delimiter":
        delimiter = ";" if delimiter != ";" else ","
    date_col = _date_column(entity)
    out = io.BytesIO()

    def line(fields: list[str]) -> bytes:
        return (delimiter.join(_csv_field(f, delimiter, quote) for f in fields) + "\n").encode()

    out.write(line([c.source_name for c in columns]))
    for i, row in enumerate(rows):
        fields = [text_value(c, row.get(c.name)) or "" for c in columns]
        kind = corrupt.get(i)
        if kind == "bad_date" and date_col is not None:
            fields[columns.index(date_col)] = bad_date(date_col, row.get(date_col.name))
        elif kind == "column_count":
            fields.append("EXTRA")
        encoded = line(fields)
        if kind == "bad_encoding":
            # A byte no UTF-8 decoder accepts, inside the first field.
            encoded = encoded[:1] + b"\xff\xfe" + encoded[1:]
        out.write(encoded)
    data = out.getvalue()
    if file_corruption == "utf16":
        return data.decode("utf-8").encode("utf-16")
    if file_corruption == "empty":
        return b""
    return data


def _nested(record: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        record = record.setdefault(key, {})
    record[keys[-1]] = value


def _json_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.type in ("date", "timestamp"):
        return value.strftime(column.format)
    return value


def encode_json(
    entity: Entity, rows: list[dict], corrupt: dict[int, str], file_corruption: str | None = None
) -> bytes:
    columns = _delivered_columns(entity, file_corruption)
    date_col = _date_column(entity)
    records = []
    for i, row in enumerate(rows):
        record: dict = {}
        for c in columns:
            _nested(record, c.source_name, _json_value(c, row.get(c.name)))
        if corrupt.get(i) == "bad_date" and date_col is not None and date_col in columns:
            _nested(record, date_col.source_name, bad_date(date_col, row.get(date_col.name)))
        records.append(record)
    document: dict = {}
    _nested(document, entity.json_path, records)
    data = _encode_text(json.dumps(document, ensure_ascii=False, indent=1), file_corruption)
    if file_corruption == "truncated":
        return data[: len(data) // 2]
    return data


def encode_ndjson(
    entity: Entity, rows: list[dict], corrupt: dict[int, str], file_corruption: str | None = None
) -> bytes:
    columns = _delivered_columns(entity, file_corruption)
    date_col = _date_column(entity)
    out = io.StringIO()
    for i, row in enumerate(rows):
        record = {}
        for c in columns:
            value = row.get(c.name)
            if value is None and not c.required:
                continue  # optional keys are left out, as the sensor firmware does
            record[c.source_name] = _json_value(c, value)
        kind = corrupt.get(i)
        if kind == "bad_date" and date_col is not None and date_col in columns:
            record[date_col.source_name] = bad_date(date_col, row.get(date_col.name))
        text = json.dumps(record, separators=(",", ":"))
        if kind == "truncated_line":
            text = text[: len(text) // 2]
        out.write(text + "\n")
    return _encode_text(out.getvalue(), file_corruption)


def _cell(column: Column, value: Any) -> Any:
    if column.type == "date" and isinstance(value, datetime):
        return value.date()
    return value


def encode_xlsx(
    entity: Entity, rows: list[dict], corrupt: dict[int, str], file_corruption: str | None = None
) -> bytes:
    columns = _delivered_columns(entity, file_corruption)
    if file_corruption == "empty":
        return b""
    date_cols = [c for c in columns if c.type == "date"]
    number_cols = [c for c in columns if c.type == "numeric"]
    cells_by_row = []
    for i, row in enumerate(rows):
        cells = [_cell(c, row.get(c.name)) for c in columns]
        kind = corrupt.get(i)
        if kind == "bad_date" and date_cols:
            c = date_cols[-1]
            cells[columns.index(c)] = bad_date(c, row.get(c.name))  # text, not a date cell
        elif kind == "bad_number" and number_cols:
            cells[columns.index(number_cols[0])] = "n/a"
        cells_by_row.append(cells)
    data = write_xlsx(entity.sheet, [c.source_name for c in columns], cells_by_row)
    if file_corruption == "garbage":
        return data[: len(data) // 3]
    return data


ENCODERS = {"csv": encode_csv, "json": encode_json, "ndjson": encode_ndjson, "xlsx": encode_xlsx}


def encode(
    entity: Entity,
    rows: list[dict],
    corrupt: dict[int, str] | None = None,
    file_corruption: str | None = None,
) -> bytes:
    return ENCODERS[entity.format](entity, rows, corrupt or {}, file_corruption)


def encode_sensor_lines(
    lines: list[str], corrupt: dict[int, str] | None = None, file_corruption: str | None = None
) -> bytes:
    """The sensor extract is pre-formatted NDJSON lines (too many rows for dicts)."""
    corrupt = corrupt or {}
    if file_corruption == "empty":
        return b""
    out = []
    for i, line in enumerate(lines):
        kind = corrupt.get(i)
        if file_corruption == "missing_column":
            line = re.sub(r'"ts":"[^"]*",', "", line)
        if kind == "bad_date":
            line = re.sub(r'("ts":"\d{4}-)\d{2}', r"\g<1>13", line)
        elif kind == "truncated_line":
            line = line[: len(line) // 2]
        out.append(line)
    text = "\n".join(out) + "\n" if out else ""
    if file_corruption == "utf16":
        return text.encode("utf-16")
    return text.encode("utf-8")
