"""Read a delivered file as its spec says, record by record, without loading it all in memory.

Every reader yields ``SourceRecord`` tuples: the 1-based data row number, the values in the
order of the entity's columns (``None`` where the file has no such column), the original line
(the raw text for CSV and NDJSON, a JSON rendering of the record for JSON and XLSX) and a row
problem (``(column, reason)``) when the record could not even be split into values.

A file that cannot be read as its spec says raises ``FileRejected``; the loader then loads
nothing of it. A reader may raise it after yielding records (a JSON document that turns out to
lack a required field everywhere), which is why the loader keeps the whole delivery in one
transaction. A header with no rows (or an empty JSON array) is a valid delivery for a period
with nothing to report; a file with no header at all is empty and rejected.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, NamedTuple

from ingestion.spec import Entity

# The delimiters a body might use by mistake; named in the "wrong delimiter" error.
_LIKELY_DELIMITERS = (",", "|", ";", "\t")
# How much of a malformed multi-line record the quarantine keeps (a quote that never closes
# makes the rest of the file one record).
_ORIGINAL_KEPT = 1_000_000


class FileRejected(Exception):
    """The file as a whole does not match its spec; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceRecord(NamedTuple):
    row_number: int
    values: Sequence[Any]
    original: str
    problem: tuple[str | None, str] | None


# Leading bytes of files that are not text: a body that compressed or mislabelled its file.
_MAGIC = {
    b"\x1f\x8b": "a gzip-compressed file",
    b"PK\x03\x04": "a ZIP archive (an XLSX workbook or a zipped file)",
    b"BZh": "a bzip2-compressed file",
    b"\xfd7zXZ\x00": "an xz-compressed file",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "a legacy Office file (XLS)",
}
_BOMS = {
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
}


def _bom_hint(head: bytes) -> str:
    for bom, name in sorted(_BOMS.items(), key=lambda item: -len(item[0])):
        if head.startswith(bom):
            return f" (the file starts with a {name} byte-order mark: it is {name} text)"
    return ""


def _check_not_binary(path: Path, entity: Entity) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise FileRejected(f"the file is {kind}, not {entity.format.upper()} as the spec says")


def check_file(path: Path, entity: Entity) -> None:
    """Rejects an empty file, or a binary one where the spec says text."""
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    if entity.format != "xlsx":
        _check_not_binary(path, entity)


def read_records(path: Path, entity: Entity) -> Iterator[SourceRecord]:
    """The records of ``path``; raises ``FileRejected`` for a file that cannot be read."""
    check_file(path, entity)
    readers = {"csv": _csv_records, "xlsx": _xlsx_records, "json": _json_records}
    reader = readers.get(entity.format, _ndjson_records)
    return reader(path, entity)


def _check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise FileRejected(f"unknown encoding {encoding!r} in the spec") from exc


def _header_index(header: list[str], entity: Entity) -> list[int | None]:
    """Position in the header of each spec column; rejects a file missing a required one."""
    positions = {name.strip(): i for i, name in enumerate(header)}
    missing = [
        c.source_name for c in entity.columns if c.required and c.source_name not in positions
    ]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise FileRejected(f"missing required column{'s' if len(missing) > 1 else ''} {names}")
    return [positions.get(c.source_name) for c in entity.columns]


class CsvLayout(NamedTuple):
    """How a CSV file's lines map to the spec's columns, from its header."""

    encoding: str
    delimiter: str
    quotechar: str
    width: int  # fields in the header, so in every well-formed row
    positions: list[int]  # the field of each spec column; ``width`` for an absent optional one
    pad: bool  # some spec column is absent: rows get an appended empty value


def read_csv_header(handle: IO[bytes], entity: Entity) -> CsvLayout:
    """Reads the header line of ``handle``; raises ``FileRejected`` for an unusable one."""
    dialect = entity.dialect
    encoding = _check_encoding(dialect.encoding)
    first = handle.readline()
    if not first.strip():
        raise FileRejected("empty file (no header line)")
    try:
        header_text = first.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"cannot decode the header as {encoding}: {exc.reason}{_bom_hint(first)}"
        ) from exc
    header_text = header_text.removeprefix("\ufeff")
    if "\x00" in header_text:
        raise FileRejected(
            "the header line contains NUL bytes: the file is binary or in another encoding "
            f"(UTF-16?) than the spec's {encoding}"
        )
    header = next(
        csv.reader([header_text], delimiter=dialect.delimiter, quotechar=dialect.quotechar)
    )
    if len(header) == 1 and len(entity.columns) > 1:
        seen = [d for d in _LIKELY_DELIMITERS if d != dialect.delimiter and d in header_text]
        found = f" (it contains {seen[0]!r})" if seen else ""
        raise FileRejected(
            f"wrong delimiter: the header is a single field{found}; the spec says "
            f"fields are separated by {dialect.delimiter!r}"
        )
    index = _header_index(header, entity)
    width = len(header)
    positions = [width if i is None else i for i in index]  # absent: an appended empty value
    pad = any(i is None for i in index)
    return CsvLayout(encoding, dialect.delimiter, dialect.quotechar, width, positions, pad)


class CsvSplitter:
    """Splits CSV lines into records with Python's csv module, as the row-by-row reader does.

    Undecodable bytes and NUL characters are noted per line and make the record that holds
    them a row problem; a note made on a blank line stays for the next record. ``pending``
    tells whether such a note is waiting, so a caller splitting a file in parts knows whether
    the next part may start afresh.
    """

    def __init__(self, layout: CsvLayout) -> None:
        self.layout = layout
        positions = layout.positions
        self._pick = itemgetter(*positions) if len(positions) > 1 else lambda f: (f[positions[0]],)
        self._undecodable: list[str] = []

    @property
    def pending(self) -> bool:
        return bool(self._undecodable)

    def records(
        self,
        raw_lines: Iterable[bytes],
        row_number: int = 0,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[SourceRecord]:
        """The records of ``raw_lines``, numbered after ``row_number``; before each record,
        ``stop()`` may end the split (a caller's part is used up)."""
        layout = self.layout
        encoding, width, pad, pick = layout.encoding, layout.width, layout.pad, self._pick
        pending: list[str] = []
        undecodable = self._undecodable

        def lines() -> Iterator[str]:
            for raw in raw_lines:
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    line = raw.decode(encoding, "replace")
                    undecodable.append(f"bytes not valid {encoding}: {exc.reason}")
                if "\x00" in line:  # PostgreSQL text cannot hold NUL
                    undecodable.append("contains a NUL character")
                    line = line.replace("\x00", "")
                pending.append(line)
                yield line

        source = lines()
        reader = csv.reader(source, delimiter=layout.delimiter, quotechar=layout.quotechar)
        while stop is None or not stop():
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # A field over the csv module's size limit, a stray quote or line break: the
                # reader drops the rest of the line and starts afresh on the next one. Inside a
                # quoted field that spans lines, the next line is still that field: read on to
                # where the record ends, so only this record is lost and the rest keep their rows.
                original = "".join(pending)
                pending.clear()
                scanner = _QuoteScanner(layout.delimiter, layout.quotechar)
                scanner.feed(original)
                while scanner.quoted and (line := next(source, None)) is not None:
                    scanner.feed(line)
                    if len(original) < _ORIGINAL_KEPT:  # a quote never closed reads to the end
                        original += line
                    pending.clear()
                row_number += 1
                undecodable.clear()
                yield SourceRecord(row_number, [], original, (None, f"malformed CSV: {exc}"))
                continue
            original = pending[0] if len(pending) == 1 else "".join(pending)
            pending.clear()
            if not fields:  # a blank line is not a row
                continue
            row_number += 1
            if undecodable:
                yield SourceRecord(row_number, [], original, (None, undecodable[0]))
                undecodable.clear()
                continue
            if len(fields) != width:
                reason = f"expected {width} fields, found {len(fields)}"
                yield SourceRecord(row_number, [], original, (None, reason))
                continue
            if pad:
                fields.append("")
            yield SourceRecord(row_number, pick(fields), original, None)


def _csv_records(path: Path, entity: Entity) -> Iterator[SourceRecord]:
    with path.open("rb") as handle:
        splitter = CsvSplitter(read_csv_header(handle, entity))
        yield from splitter.records(handle)


class _QuoteScanner:
    """Follows, line by line, whether a record's text is inside a quoted field, as the csv module
    reads it: a quote opens a field only at its start, a doubled quote inside one is a quote."""

    def __init__(self, delimiter: str, quotechar: str) -> None:
        self.delimiter, self.quotechar = delimiter, quotechar
        self.quoted, self._at_field_start, self._pending_quote = False, True, False

    def feed(self, text: str) -> None:
        quote, i, end = self.quotechar, 0, len(text)
        if self._pending_quote and end:  # the last line ended on a quote inside a quoted field
            self._pending_quote = False
            if text[0] == quote:
                i = 1
            else:
                self.quoted, self._at_field_start = False, False
        while i < end:
            if self.quoted:
                close = text.find(quote, i)
                if close < 0:
                    return
                if close + 1 == end:
                    self._pending_quote = True
                    return
                if text[close + 1] == quote:
                    i = close + 2
                    continue
                self.quoted, self._at_field_start, i = False, False, close + 1
                continue
            char = text[i]
            if char == quote and self._at_field_start:
                self.quoted = True
            else:
                self._at_field_start = char in (self.delimiter, "\n", "\r")
            i += 1


def _cell_text(value: Any) -> Any:
    """XLSX cells arrive typed; numbers become text as a person would read them."""
    if value is None or isinstance(value, str | dt.date):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_records(path: Path, entity: Entity) -> Iterator[SourceRecord]:
    from openpyxl import load_workbook  # imported here: only XLSX bodies need it

    # A formula cell holds its formula and, once a spreadsheet program calculated it, the value
    # it computed (an empty result has none, and reads as empty). A workbook written by a
    # library (openpyxl, pandas) holds no values and asks to be calculated when opened: there a
    # formula without a value is not an empty result, so such a workbook, if it has formulas, is
    # read twice side by side, values and formulas, to tell a formula from an empty cell.
    workbooks = []
    try:
        workbooks.append(load_workbook(path, read_only=True, data_only=True))
        if _may_hold_uncalculated_formulas(path):
            workbooks.append(load_workbook(path, read_only=True, data_only=False))
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        for workbook in workbooks:
            workbook.close()
        raise FileRejected(f"not a readable XLSX workbook: {exc}") from exc
    try:
        yield from _worksheet_records(workbooks[0], workbooks[1:], entity)
    except FileRejected:
        raise
    except Exception as exc:  # a damaged part of the archive shows only when it is read
        raise FileRejected(f"XLSX workbook unreadable part-way: {exc}") from exc
    finally:
        for workbook in workbooks:
            workbook.close()


# In the workbook part: its calculation properties, and the two attributes that say the values
# are not there (a library asks for a full calculation on load; a save may record it undone).
_CALC_PROPERTIES = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?calcPr\b[^>]*>")
_NOT_CALCULATED = re.compile(
    rb"\b(?:fullCalcOnLoad\s*=\s*[\"'](?:1|true|on)[\"']"
    rb"|calcCompleted\s*=\s*[\"'](?:0|false|off)[\"'])"
)
# A formula element in a worksheet part (SpreadsheetML's <f>, with a namespace prefix or not).
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _may_hold_uncalculated_formulas(path: Path) -> bool:
    """Whether the workbook was not saved calculated and holds formulas, read from its parts as
    they decompress (openpyxl reports a missing attribute as its default): a fraction of the
    cost of reading the sheet a second time for its formulas."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        workbook = next((n for n in names if n.endswith("workbook.xml")), None)
        if workbook is not None:
            properties = _CALC_PROPERTIES.search(archive.read(workbook))
            if properties is not None and not _NOT_CALCULATED.search(properties.group()):
                return False  # saved by a program that calculated its formulas
        for name in names:
            # Every XML part but the shared strings (text only, often the largest), wherever
            # the writer put its worksheets; a chart's range reference only costs the second read.
            if not name.endswith(".xml") or name.endswith("sharedStrings.xml"):
                continue
            with archive.open(name) as part:
                tail = b""
                while chunk := part.read(1 << 20):
                    if _FORMULA_TAG.search(tail + chunk):
                        return True
                    tail = chunk[-64:]
    return False


def _uncalculated_formula(
    values: Sequence[Any],
    formulas: Sequence[Any],
    index: list[int | None],
    entity: Entity,
    sheet_row: int,
) -> tuple[str, str] | None:
    """The first spec column whose cell holds a formula with no value calculated, if any."""
    from openpyxl.utils import get_column_letter

    for position, column in zip(index, entity.columns, strict=True):
        if position is None or position >= len(values) or values[position] is not None:
            continue
        formula = formulas[position] if position < len(formulas) else None
        if formula is not None:  # read for formulas, only a formula cell differs from its value
            cell = f"{get_column_letter(position + 1)}{sheet_row}"
            return column.name, (
                f"{column.source_name!r} (cell {cell}) holds a formula without a cached value "
                f"({str(formula)[:80]}): the workbook was saved by a program that does not "
                "calculate formulas; open and save it in a spreadsheet program, or deliver values"
            )
    return None


def _worksheet_records(
    values_book: Any, formulas_books: list[Any], entity: Entity
) -> Iterator[SourceRecord]:
    """The records of the spec's sheet; ``formulas_books``: the workbook read for formulas, when
    it has any (else empty)."""
    if entity.sheet not in values_book.sheetnames:
        raise FileRejected(
            f"no worksheet {entity.sheet!r} (found {', '.join(values_book.sheetnames)})"
        )
    rows = values_book[entity.sheet].iter_rows(values_only=True)
    formula_rows = (
        formulas_books[0][entity.sheet].iter_rows(values_only=True)
        if formulas_books
        else itertools.repeat(())
    )
    next(formula_rows, None)
    header_row = next(rows, None)
    if header_row is None or all(v is None for v in header_row):
        raise FileRejected(f"worksheet {entity.sheet!r} is empty")
    header = ["" if v is None else str(v) for v in header_row]
    index = _header_index(header, entity)
    text_columns = [k for k, c in enumerate(entity.columns) if c.type not in ("date", "timestamp")]
    row_number = 0
    pairs = zip(rows, formula_rows, strict=bool(formulas_books))
    for sheet_row, (row, formulas) in enumerate(pairs, start=2):  # the header is row 1
        if all(v is None for v in row):  # also a row of formulas copied down a template
            continue
        row_number += 1
        cells = [_cell_text(v) for v in row]
        record = dict(zip(header, cells, strict=False))
        original = json.dumps(record, default=str, ensure_ascii=False)
        problem = (
            _uncalculated_formula(row, formulas, index, entity, sheet_row) if formulas else None
        )
        if problem is not None:
            yield SourceRecord(row_number, [], original, problem)
            continue
        values = [None if i is None or i >= len(cells) else cells[i] for i in index]
        for k in text_columns:  # a date cell under a text column is read as its ISO text
            if isinstance(values[k], dt.date):
                values[k] = values[k].isoformat()
        yield SourceRecord(row_number, values, original, None)


_MISSING = object()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # "\ud800" in JSON decodes to a lone surrogate
        return False
    return True


def _json_text(record: Any) -> str:
    """A record as JSON text for the quarantine (surrogates kept as escapes)."""
    try:
        return json.dumps(record, ensure_ascii=False)
    except (RecursionError, ValueError):
        return repr(record)[:10000]


def _lookup(record: dict, dotted: str) -> Any:
    value: Any = record
    for key in dotted.split("."):
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(key, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _json_value(value: Any, column: str) -> Any:
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise ValueError(f"{column}: contains a NUL character")
        if not value.isascii() and not _encodable(value):
            raise ValueError(f"{column}: contains a lone surrogate escape (not valid Unicode)")
        return value
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"{column}: expected a single value, found a JSON {type(value).__name__}")


class _JsonShape:
    """Turns JSON objects into spec-ordered values; counts which required fields ever appear."""

    def __init__(self, entity: Entity) -> None:
        self.sources = [c.source_name for c in entity.columns]
        self.names = [c.name for c in entity.columns]
        self.required = [c.required for c in entity.columns]
        self.seen = [False] * len(self.sources)

    def values(self, record: Any) -> tuple[list[Any] | None, tuple[str | None, str] | None]:
        if not isinstance(record, dict):
            return None, (None, f"expected a JSON object, found {type(record).__name__}")
        values = []
        for i, source in enumerate(self.sources):
            raw = _lookup(record, source)
            if raw is not _MISSING:
                self.seen[i] = True
            try:
                values.append(_json_value(raw, self.names[i]))
            except ValueError as exc:
                return None, (self.names[i], str(exc))
        return values, None

    def check_required(self) -> None:
        missing = [
            s
            for s, r, seen in zip(self.sources, self.required, self.seen, strict=True)
            if r and not seen
        ]
        if missing:
            names = ", ".join(repr(m) for m in missing)
            raise FileRejected(
                f"missing required field{'s' if len(missing) > 1 else ''} {names} in every record"
            )


def _json_records(path: Path, entity: Entity) -> Iterator[SourceRecord]:
    encoding = _check_encoding(entity.dialect.encoding)
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileRejected(f"cannot decode the file as {encoding}: {exc.reason}") from exc
    if not text.strip():
        raise FileRejected("empty file (only whitespace)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise FileRejected("JSON nested too deeply to read (thousands of levels)") from exc
    del text
    if not isinstance(document, dict):
        raise FileRejected(
            f"expected a JSON object at the top level, found {type(document).__name__}"
        )
    records = _lookup(document, entity.json_path or "")
    if records is _MISSING or not isinstance(records, list):
        raise FileRejected(f"no array of records at {entity.json_path!r}")
    shape = _JsonShape(entity)
    for row_number, record in enumerate(records, start=1):
        values, problem = shape.values(record)
        yield SourceRecord(row_number, values or [], _json_text(record), problem)
    if records:  # an empty array is a period with nothing to report
        shape.check_required()


def _ndjson_records(path: Path, entity: Entity) -> Iterator[SourceRecord]:
    encoding = _check_encoding(entity.dialect.encoding)
    shape = _JsonShape(entity)
    row_number = 0
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            row_number += 1
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                original = raw.decode(encoding, "replace")
                problem = (None, f"bytes not valid {encoding}: {exc.reason}")
                yield SourceRecord(row_number, [], original, problem)
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield SourceRecord(row_number, [], line, (None, f"not valid JSON: {exc.msg}"))
                continue
            except RecursionError:
                yield SourceRecord(row_number, [], line, (None, "JSON nested too deeply"))
                continue
            values, problem = shape.values(record)
            yield SourceRecord(row_number, values or [], line, problem)
    if row_number == 0:
        raise FileRejected("empty file (no records)")
    shape.check_required()
