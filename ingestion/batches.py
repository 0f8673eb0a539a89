"""A CSV delivery in bounded batches of columns: split, typed, tokenised and checked per batch.

The row-by-row path (``ingestion.readers`` + ``ingestion.raw_rows.RowBuilder``) does each
value's work in Python, row by row. Here a block of the file (``BLOCK_BYTES``, whole lines) is
split into columns by Arrow's CSV parser, and each column's work is done once per *distinct*
value of the batch, by the very same per-value conversion (``raw_rows.column_converter``),
or, for the common shape of number, date and identifier, by its Arrow twin (below); results
are spread back over the rows with Arrow's ``take``. An identifier's tokens (HMAC) are signed
a batch's values in one call by the compiled loop (``ingestion.array_signing``), or, where it is
not built, by a signing process (``ingestion.signing``), sent a batch ahead (``send_ahead``).
Empty checks of free text are one regex over the column. The finished rows leave as COPY CSV
text written by Arrow.

Arrow only splits blocks whose reading cannot differ from Python's csv module: every field
unquoted or wholly quoted (no quoted line break), no NUL, no blank line, no lone carriage
return, valid UTF-8, no line over the csv module's field size limit, every line with the
header's number of fields. Any other block (a quoted line break, a broken line, another
encoding) is split by the row-by-row reader's own splitter (``readers.CsvSplitter``) and typed
here all the same. Rows with a problem are rare: the
row builder runs on them alone, so their quarantine reason is exactly the row path's.

Arrow rather than Polars or DuckDB for the columns: pyarrow was a dependency already (Polars
came later, for the records' keys alone), and its CSV parser takes a block of bytes we already
hold, so the blocks, their line numbers and the fallback stay ours. None of the three has a
fast HMAC: DuckDB computed it 2.5x slower than Python's hashlib here, and single-threaded,
about as fast (its SHA-256 does not use the CPU's SHA instructions); the polars-hash plugin's
SHA-256 took 2.3 µs a value against hashlib's 0.66. Hence the compiled loop over OpenSSL's
SHA-256 (0.17 µs a value), the loader's one compiled part.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion import array_signing
from ingestion.distinct_records import DistinctRecords
from ingestion.identity_fields import FIELD_NAMES
from ingestion.pseudonymise import UPRN_DOMAIN, Pseudonymiser
from ingestion.raw_rows import (
    _MAX_NUMERIC_EXPONENT,
    RowBuilder,
    RowProblem,
    column_converter,
    token_function,
)
from ingestion.raw_tables import IDENTITY_REF_TOKEN, IDENTITY_ROW_NUMBER, IDENTITY_VALUES_START
from ingestion.readers import CsvLayout, CsvSplitter, SourceRecord, check_file, read_csv_header
from ingestion.signing import SigningProcess
from ingestion.spec import Column, Entity

# About 40,000 rows of a typical extract: big enough for Arrow, small enough that the
# producer and COPY overlap and memory stays bounded (two batches in flight).
BLOCK_BYTES = 4 << 20
FIRST_BLOCK_BYTES = 256 << 10

# Python's str.isspace characters, so "blank" means here what it means to the row path.
_BLANK = "^[" + "".join(f"\\x{{{c:x}}}" for c in range(0x110000) if chr(c).isspace()) + "]*$"
_NULL = pa.scalar(None, pa.string())
# Conversions kept per column across batches: dates, codes and repeated people are converted
# (and hashed) once per file. Bounded, so a column of unique values cannot grow memory.
CACHE_LIMIT = 200_000
_FAILED = object()


@dataclass
class Batch:
    """Consecutive records of a file: the split ones as columns, the unsplittable as records."""

    row_numbers: np.ndarray  # of the split records, 1-based data rows
    columns: list[pa.Array]  # one string array per spec column, in spec order
    original: Callable[[int], str]  # the original text of the i-th split record
    problems: list[SourceRecord]  # records that could not be split into values
    split_by: str  # "arrow" or "python"
    # No value holds a backslash, the escape character of COPY's text format (its values can
    # then be written as they are): known of an Arrow-split block from its bytes.
    no_backslash: bool = False
    # Identifier columns sent ahead to a signing process (``BatchBuilder.send_ahead``): by
    # column position, the column dictionary-encoded and its tokens to come.
    ahead: dict[int, tuple[pa.DictionaryArray, np.ndarray, list[str], Future]] = field(
        default_factory=dict
    )


# The options of a COPY statement by the format of its rows (``CopyRows.format``).
COPY_OPTIONS = {"text": "", "csv": "(format csv)"}


@dataclass(frozen=True)
class CopyRows:
    """Rows as COPY reads them, in its text format where the values allow (a quarter less
    server time than CSV with every string quoted, measured on the benchmark extract), else CSV."""

    data: bytes
    format: str  # a key of COPY_OPTIONS


@dataclass
class BuiltBatch:
    """A batch ready for COPY: raw rows, identity rows (the records not in an earlier batch),
    quarantined rows."""

    raw: CopyRows
    identity: CopyRows | None
    quarantined: list[tuple[int, str | None, str, str]]  # row, column, reason, original
    delivered: int
    loaded: int


# --- splitting ---------------------------------------------------------------------------------


def _well_quoted(layout: CsvLayout) -> str:
    """A regex of a line whose every field is either unquoted (no quote character in it) or
    wholly quoted with doubled inner quotes: on such lines Arrow and Python's csv agree."""
    delimiter, quote = re.escape(layout.delimiter), re.escape(layout.quotechar)
    field = f"(?:[^{delimiter}{quote}\\r\\n]*|{quote}(?:[^{quote}\\n]|{quote}{quote})*{quote})"
    return f"^{field}(?:{delimiter}{field})*\\r?\\n?$"


def _arrow_block(layout: CsvLayout, block: bytes, row_number: int) -> Batch | None:
    """The block split by Arrow, or None when its reading could differ from Python's csv."""
    data = np.frombuffer(block, np.uint8)
    newlines = np.flatnonzero(data == 10)
    if (
        b"\x00" in block
        or block.startswith((b"\n", b"\r\n", codecs.BOM_UTF8))
        or (np.diff(newlines) == 1).any()  # a blank line: b"\n\n" (4x faster than `in`)
    ):
        return None
    # Carriage returns only as the ends of lines (\r\n), and no blank line in between: counted
    # at the newlines found above: two more scans of the block by bytes.count cost 4 ms a block.
    if b"\r" in block and (
        b"\n\r\n" in block
        or np.count_nonzero(data == 13) != np.count_nonzero(data[newlines[newlines > 0] - 1] == 13)
    ):
        return None
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    ends = newlines + 1
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    starts = np.concatenate(([0], ends[:-1]))
    if int((ends - starts).max()) > csv.field_size_limit():
        return None
    quoted = layout.quotechar.encode() in block
    if quoted:
        offsets = np.concatenate(([0], ends)).astype(np.int32)
        lines = pa.StringArray.from_buffers(
            len(ends), pa.py_buffer(offsets.tobytes()), pa.py_buffer(block)
        )
        if not pc.all(pc.match_substring_regex(lines, _well_quoted(layout))).as_py():
            return None
    names = [f"f{i}" for i in range(layout.width)]
    picked = sorted({p for p in layout.positions if p < layout.width})
    try:
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=len(block) + 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter,
                quote_char=layout.quotechar if quoted else False,
                double_quote=True,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[names[p] for p in picked],
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # a line with too few or too many fields: Python reports it
        return None
    rows = table.num_rows
    if rows != len(ends):
        return None
    empty = pa.array([""], pa.string()).take(pa.array(np.zeros(rows, np.int32)))
    columns = [
        empty if p >= layout.width else table.column(names[p]).combine_chunks()
        for p in layout.positions
    ]
    encoding = layout.encoding

    def original(i: int) -> str:
        return block[starts[i] : ends[i]].decode(encoding)

    numbers = np.arange(row_number + 1, row_number + rows + 1, dtype=np.int64)
    return Batch(numbers, columns, original, [], "arrow", no_backslash=b"\\" not in block)


def _python_block(
    splitter: CsvSplitter, block: bytes, handle: IO[bytes], row_number: int, width: int
) -> tuple[Batch, int]:
    """The block split by the row path's splitter; a quoted record that runs past the block's
    end takes its remaining lines from ``handle``. Returns the batch and the last row number."""
    total = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    consumed = 0

    def raw_lines() -> Iterator[bytes]:
        nonlocal consumed
        for line in io.BytesIO(block):
            consumed += 1
            yield line
        for line in handle:  # only while a record is unfinished (see stop)
            consumed += 1
            yield line

    numbers: list[int] = []
    values: list[Any] = []
    originals: list[str] = []
    problems: list[SourceRecord] = []
    for record in splitter.records(raw_lines(), row_number, stop=lambda: consumed >= total):
        row_number = record.row_number
        if record.problem is not None:
            problems.append(record)
            continue
        numbers.append(record.row_number)
        values.append(record.values)
        originals.append(record.original)
    columns = (
        [pa.array(column, pa.string()) for column in zip(*values, strict=True)]
        if values
        else [pa.array([], pa.string()) for _ in range(width)]
    )
    batch = Batch(np.array(numbers, np.int64), columns, originals.__getitem__, problems, "python")
    return batch, row_number


def csv_batches(path: Path, entity: Entity, block_bytes: int | None = None) -> Generator[Batch]:
    """The records of a CSV delivery in batches; raises ``FileRejected`` as the row path does."""
    block_bytes = block_bytes or BLOCK_BYTES
    # The first blocks are smaller, doubling up to ``block_bytes``: the server's first COPY
    # starts after a few thousand rows are built, not forty thousand.
    size = min(block_bytes, FIRST_BLOCK_BYTES)
    check_file(path, entity)
    with path.open("rb") as handle:
        layout = read_csv_header(handle, entity)
        splitter = CsvSplitter(layout)
        arrow = codecs.lookup(layout.encoding).name == "utf-8"
        row_number = 0
        while block := handle.read(size):
            size = min(2 * size, block_bytes)
            if not block.endswith(b"\n"):
                block += handle.readline()
            batch = None
            if arrow and not splitter.pending:
                batch = _arrow_block(layout, block, row_number)
            if batch is not None:
                row_number += len(batch.row_numbers)
            else:
                batch, row_number = _python_block(
                    splitter, block, handle, row_number, len(entity.columns)
                )
            yield batch


# --- conversions in Arrow ----------------------------------------------------------------------
#
# For the common shape of a value (ASCII, no surrounding spaces, plain digits) a column's
# conversion is done in Arrow; every other value takes raw_rows.column_converter. Each is the
# twin of the Python rule it names, on the values it accepts; test_batches checks them against
# it value by value, and test_batch_equivalence on whole deliveries.

Vector = Callable[[pa.Array], tuple[np.ndarray, list[pa.Array], pa.Array]]
# An identifier column's distinct values made ready ahead: which have the common shape, their
# canonical forms, the tokens of the non-empty ones.
Prepared = tuple[np.ndarray, pa.StringArray, pa.Array]
# What Python's str.isspace (and re's \s) call space among ASCII characters.
_ASCII_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f "
_TRIMMED = f"(?s)^[^{_ASCII_SPACE}](.*[^{_ASCII_SPACE}])?$"  # not blank, nothing to strip
_PLAIN_NUMBER = "^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)$"  # raw_rows._NUMERIC without exponent
_NHS_WEIGHTS = np.arange(10, 1, -1)


def _mask(array: pa.Array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def _digits(values: pa.Array) -> pa.Array:
    """The values with all but their ASCII digits dropped; values that are digits already (the
    usual case) are not run through a regex."""
    plain = pc.or_(pc.ascii_is_decimal(values), pc.equal(pc.binary_length(values), 0))
    if pc.all(plain).as_py() is not False:
        return values
    return pc.replace_substring_regex(values, "[^0-9]", "")


def normalise_ascii(domain: str, values: pa.Array) -> pa.Array:
    """``pseudonymise.normalise`` on ASCII values."""
    if domain == "nhs_number":
        return _digits(values)
    if domain == UPRN_DOMAIN:
        return pc.utf8_ltrim(_digits(values), characters="0")
    spaced = pc.replace_substring_regex(values, f"[{_ASCII_SPACE}]+", " ")
    return pc.ascii_upper(pc.utf8_trim(spaced, characters=" "))


def nhs_numbers_valid(values: pa.Array) -> np.ndarray:
    """``identifiers.nhs_number_is_valid`` on ASCII values: ten digits once the rest is
    dropped, not all the same, the last one the modulus-11 check digit of the nine before."""
    digits = _digits(values)
    ten = _mask(pc.equal(pc.utf8_length(digits), 10))
    valid = np.zeros(len(values), bool)
    if not ten.any():
        return valid
    fixed = pc.filter(digits, pa.array(ten)).cast(pa.binary()).cast(pa.binary(10))
    grid = (
        np.frombuffer(fixed.buffers()[1], np.uint8, count=len(fixed) * 10, offset=fixed.offset * 10)
        .reshape(-1, 10)
        .astype(np.int64)
        - 48
    )
    check = 11 - (grid[:, :9] @ _NHS_WEIGHTS) % 11
    check[check == 11] = 0
    ok = (check == grid[:, 9]) & (grid != grid[:, :1]).any(axis=1)
    valid[np.flatnonzero(ten)] = ok
    return valid


def _vector_conversion(
    body: str, entity: Entity, column: Column, pseudonymiser: Pseudonymiser
) -> Vector | None:
    is_nhs = column.linkage == "nhs_number"
    if column.type == "numeric" and column.privacy == "clear" and not is_nhs:

        def plain_number(values: pa.Array) -> tuple[np.ndarray, list[pa.Array], pa.Array]:
            simple = pc.and_(
                pc.match_substring_regex(values, _PLAIN_NUMBER),
                pc.less_equal(pc.utf8_length(values), _MAX_NUMERIC_EXPONENT),
            )
            return _mask(simple), [values], values

        return plain_number
    if column.type == "date" and column.privacy in ("clear", "year", "drop"):
        return _date_conversion(column)
    if column.type == "text" and column.privacy == "token":
        return _Identifier(entity.token_domain(body, column), is_nhs, pseudonymiser)
    return None


# The date directives the row path parses with a regex (raw_rows._datetime_parser), as RE2
# groups, and the default of each field a format leaves out.
_DATE_GROUPS = {"Y": "(?P<Y>[0-9]{4})", "m": "(?P<m>[0-9]{1,2})", "d": "(?P<d>[0-9]{1,2})"}
_DATE_DEFAULTS = {"Y": 1900, "m": 1, "d": 1}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _date_pattern(fmt: str) -> str | None:
    """``fmt`` as an RE2 pattern with a named group per directive, or None when it has a
    directive other than %Y, %m, %d or has one twice (the row path's work then)."""
    pattern, seen, i = ["^"], set(), 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            if directive not in _DATE_GROUPS or directive in seen:
                return None
            seen.add(directive)
            pattern.append(_DATE_GROUPS[directive])
            i += 2
        else:
            pattern.append(re.escape(fmt[i]))
            i += 1
    return "".join(pattern) + "$"


def _iso_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> pa.StringArray:
    """YYYY-MM-DD of real dates of years 1-9999, ten bytes each, written digit by digit."""
    count = len(year)
    text = np.full((count, 10), ord("-"), np.uint8)
    for start, number, width in ((0, year, 4), (5, month, 2), (8, day, 2)):
        for place in range(width):
            text[:, start + width - 1 - place] = 48 + (number // 10**place) % 10
    offsets = np.arange(0, 10 * count + 1, 10, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(text))


def _date_conversion(column: Column) -> Vector | None:
    """``raw_rows``' date conversion (ISO date, or its year, or nothing) on values with no
    surrounding spaces and ASCII digits that make a real date; the others take the row path."""
    pattern = _date_pattern(column.format or "")
    if pattern is None:
        return None
    privacy = column.privacy
    # A format of ASCII digits and visible ASCII separators only matches ASCII values with
    # nothing to strip: its own regex is then the whole check.
    literals = re.sub("%[Ymd]", "", column.format or "")
    self_checked = all(c.isascii() and not c.isspace() for c in literals)

    def date(values: pa.Array) -> tuple[np.ndarray, list[pa.Array], pa.Array]:
        matched = pc.match_substring_regex(values, pattern)
        if not self_checked:
            plain = pc.and_(pc.string_is_ascii(values), pc.match_substring_regex(values, _TRIMMED))
            matched = pc.and_(plain, matched)
        simple = _mask(matched)
        parts = pc.extract_regex(pc.filter(values, matched), pattern)
        found = {f.name for f in parts.type}
        count = len(parts)
        year, month, day = (
            parts.field(name).cast(pa.int32()).to_numpy()
            if name in found
            else np.full(count, _DATE_DEFAULTS[name], np.int32)
            for name in ("Y", "m", "d")
        )  # fmt: skip
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        ok = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
        days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
        ok &= day <= days
        simple[np.flatnonzero(simple)] = ok  # an impossible date: the row path says why
        keep = pa.array(ok)
        iso = _iso_dates(year[ok], month[ok], day[ok])
        where = pa.array(simple)
        nulls = pa.nulls(len(values), pa.string())
        clear = pc.replace_with_mask(nulls, where, iso)
        if privacy == "clear":
            outputs = [clear]
        elif privacy == "year":
            years = pc.filter(pa.array(year), keep).cast(pa.string())
            outputs = [pc.replace_with_mask(nulls, where, years)]
        else:
            outputs = []
        return simple, outputs, clear

    return date


class _Identifier:
    """The vector conversion of a tokenised identifier: its canonical values are signed here, or
    beforehand by a signing process (``ingestion.signing``) and handed in as ``signed``."""

    def __init__(self, domain: str, is_nhs: bool, pseudonymiser: Pseudonymiser) -> None:
        self.domain = domain
        self.is_nhs = is_nhs
        self._pseudonymiser = pseudonymiser
        self._sign = pseudonymiser.signer(domain)

    def canonical(self, values: pa.Array) -> tuple[np.ndarray, pa.StringArray]:
        """Which values have the common shape, and their canonical forms (in order)."""
        simple = _mask(
            pc.and_(pc.string_is_ascii(values), pc.match_substring_regex(values, _TRIMMED))
        )
        return simple, pc.filter(normalise_ascii(self.domain, values), pa.array(simple))

    def __call__(
        self, values: pa.Array, prepared: Prepared | None = None
    ) -> tuple[np.ndarray, list[pa.Array], pa.Array]:
        """``prepared``: ``canonical`` of these values and the tokens of the non-empty ones,
        when they were signed beforehand."""
        if prepared is None:
            simple, canonical = self.canonical(values)
            if array_signing.available():  # the compiled loop, in one call
                present = pc.filter(canonical, pc.greater(pc.binary_length(canonical), 0))
                signed = array_signing.sign_array(self._pseudonymiser, self.domain, present)
            else:
                sign = self._sign
                signed = pa.array(
                    [sign(c) if c else None for c in canonical.to_pylist()], pa.string()
                )
        else:
            simple, canonical, signed = prepared
        if len(signed) != len(canonical):  # an empty canonical value has no token
            present = pc.greater(pc.binary_length(canonical), 0)
            nulls = pa.nulls(len(canonical), pa.string())
            signed = pc.replace_with_mask(nulls, present, signed)
        tokens = pc.replace_with_mask(pa.nulls(len(values), pa.string()), pa.array(simple), signed)
        outputs = [tokens]
        if self.is_nhs:
            valid = np.where(nhs_numbers_valid(values), "t", "f")
            outputs.append(pa.array(valid, pa.string()))
        return simple, outputs, values


# --- typing, tokens, quarantine ------------------------------------------------------------------


@dataclass(frozen=True)
class _ColumnPlan:
    column: Column
    free_text: bool  # clear text feeding nothing: only checked for emptiness
    convert: Callable[[Any], tuple[tuple[Any, ...], Any]]
    outputs: int  # values it contributes to the raw row
    ref_token: Callable[[str | None], str | None] | None  # person_ref kept only in identity
    cache: dict[Any, Any]  # value -> conversion (or _FAILED), across the file's batches
    vector: Vector | None  # the conversion in Arrow for the common shape of value, if any


class BatchBuilder:
    """Builds a batch's raw rows, identity rows and quarantined rows.

    The same result as ``RowBuilder`` row by row (a test compares them on real deliveries).
    """

    def __init__(
        self,
        body: str,
        entity: Entity,
        pseudonymiser: Pseudonymiser,
        lineage: tuple[int, str],
        identity_head: tuple[str, str, str, str],
        signing: SigningProcess | None = None,
    ) -> None:
        self.entity = entity
        self.signing = signing
        self.lineage = lineage
        self.identity_head = identity_head
        self._text_constants = no_backslash((*lineage, *identity_head))
        self.rows = RowBuilder(body, entity, pseudonymiser, lineage, identity_head)
        self.distinct = DistinctRecords()  # the delivery's identity records, across batches
        self.plans = []
        for column in entity.columns:
            ref_token = None
            if column.linkage == "person_ref" and column.privacy != "token":
                ref_token = token_function(pseudonymiser, entity.token_domain(body, column))
            self.plans.append(
                _ColumnPlan(
                    column,
                    column.type == "text" and column.privacy == "clear" and not column.linkage,
                    column_converter(body, entity, column, pseudonymiser),
                    (0 if column.privacy == "drop" else 1) + (column.linkage == "nhs_number"),
                    ref_token,
                    {},
                    _vector_conversion(body, entity, column, pseudonymiser),
                )
            )

    def send_ahead(self, batch: Batch) -> None:
        """Sends the batch's identifier values to the signing process, if there is one, so they
        are signed on the other core while an earlier batch is built."""
        if self.signing is None:
            return
        for i, (plan, values) in enumerate(zip(self.plans, batch.columns, strict=True)):
            if isinstance(plan.vector, _Identifier):
                encoded = values.dictionary_encode()
                simple, canonical = plan.vector.canonical(encoded.dictionary)
                present = pc.greater(pc.binary_length(canonical), 0)
                future = self.signing.submit(plan.vector.domain, pc.filter(canonical, present))
                batch.ahead[i] = (encoded, simple, canonical, future)

    def build(self, batch: Batch) -> BuiltBatch:
        rows = len(batch.row_numbers)
        bad = np.zeros(rows, bool)
        raw: list[pa.Array] = []
        identity: dict[str, pa.Array] = {}
        ref_token = ref_clear = None
        for i, (plan, values) in enumerate(zip(self.plans, batch.columns, strict=True)):
            if plan.free_text:
                blank = pc.match_substring_regex(values, _BLANK)
                if pc.any(blank).as_py():
                    if not plan.column.nullable:
                        bad |= blank.to_numpy(zero_copy_only=False)
                    values = pc.if_else(blank, _NULL, values)
                raw.append(values)
                continue
            prepared = None
            if i in batch.ahead:
                encoded, simple, canonical, future = batch.ahead[i]
                prepared = (simple, canonical, future.result())
            else:
                encoded = values.dictionary_encode()
            outputs, clears, failed = self._convert(plan, encoded.dictionary, prepared)
            indices = encoded.indices
            if failed:
                bad |= np.isin(indices.to_numpy(), failed)
            raw += [output.take(indices) for output in outputs]
            role = plan.column.linkage
            if role is None:
                continue
            clear = clears.take(indices)
            identity[role] = clear
            if role == "person_ref":
                ref_clear = clear
                if plan.ref_token is None:
                    ref_token = raw[-1]
                else:
                    tokens = [plan.ref_token(c) for c in clears.to_pylist()]
                    ref_token = pa.array(tokens, pa.string()).take(indices)
        quarantined = [
            (r.row_number, r.problem[0], r.problem[1], r.original) for r in batch.problems
        ]
        quarantined += self._problems(batch, np.flatnonzero(bad))
        quarantined.sort(key=lambda q: q[0])
        good = pa.array(~bad)
        numbers = pa.array(batch.row_numbers.astype(np.int32))
        loaded = rows - int(bad.sum())
        raw_table = pa.table(
            [*self._constants(self.lineage, rows), numbers, *raw],
            names=[f"c{i}" for i in range(len(self.lineage) + 1 + len(raw))],
        )
        if loaded < rows:  # a copy of every column: only when a row is dropped
            raw_table = raw_table.filter(good)
        text = batch.no_backslash and self._text_constants
        identity_rows = None
        if ref_clear is not None:
            keep = good if not ref_clear.null_count else pc.and_(good, pc.is_valid(ref_clear))
            fields = [identity.get(role, pa.nulls(rows, pa.string())) for role in FIELD_NAMES]
            columns = [
                *self._constants(self.identity_head, rows),
                numbers,
                ref_token,
                ref_clear,
                *fields,
            ]
            identity_table = pa.table(columns, names=[f"c{i}" for i in range(len(columns))])
            if keep is not good or loaded < rows:
                identity_table = identity_table.filter(keep)
            # One row per distinct record of the delivery: the first row carrying it.
            values = identity_table.columns[IDENTITY_VALUES_START:]
            first = self.distinct.first_rows(
                values,
                identity_table.column(IDENTITY_REF_TOKEN),
                identity_table.column(IDENTITY_ROW_NUMBER).to_numpy(),
            )
            identity_table = identity_table.take(pa.array(first))
            if identity_table.num_rows:
                identity_rows = copy_rows(identity_table, text)
        delivered = rows + len(batch.problems)
        raw_rows = copy_rows(raw_table, text)
        return BuiltBatch(raw_rows, identity_rows, quarantined, delivered, loaded)

    @staticmethod
    def _convert(
        plan: _ColumnPlan, distinct: pa.Array, prepared: Prepared | None = None
    ) -> tuple[list[pa.Array], pa.Array, list[int]]:
        """Each distinct value's conversion: (arrays of raw values, array of clear values,
        positions of values with a problem). A value with a problem converts to nulls and is
        listed (its rows go to quarantine). Values of the common shape are converted in Arrow
        when the column has a vector conversion, the others one by one in Python."""
        if plan.vector is not None:
            simple, outputs, clear = (
                plan.vector(distinct, prepared)
                if isinstance(plan.vector, _Identifier)
                else plan.vector(distinct)
            )
            rest = np.flatnonzero(~simple)
        else:
            outputs, clear, rest = [], None, np.arange(len(distinct))
        if not len(rest):
            return outputs, clear, []
        values = distinct.take(pa.array(rest)).to_pylist() if plan.vector else distinct.to_pylist()
        convert, cache = plan.convert, plan.cache
        parts: list[tuple[Any, ...]] = []
        clears: list[Any] = []
        failed: list[int] = []
        nothing = ((None,) * plan.outputs, None)
        for i, value in zip(rest.tolist(), values, strict=True):
            conversion = cache.get(value)
            if conversion is None:
                try:
                    conversion = convert(value)
                except RowProblem:
                    conversion = _FAILED
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[value] = conversion
            if conversion is _FAILED:
                conversion = nothing
                failed.append(i)
            parts.append(conversion[0])
            clears.append(conversion[1])
        slow = [pa.array([p[k] for p in parts], pa.string()) for k in range(plan.outputs)]
        slow_clear = pa.array(clears, pa.string())
        if plan.vector is None:
            return slow, slow_clear, failed
        mask = pa.array(~simple)
        merged = [
            pc.replace_with_mask(out, mask, new) for out, new in zip(outputs, slow, strict=True)
        ]
        return merged, pc.replace_with_mask(clear, mask, slow_clear), failed

    def _problems(self, batch: Batch, rows: np.ndarray) -> list[tuple[int, str | None, str, str]]:
        """The quarantine entries of rows with a value problem, by the row builder itself: the
        first problem in column order, worded as the row path words it."""
        found = []
        for i in rows.tolist():
            values = [column[i].as_py() for column in batch.columns]
            row_number = int(batch.row_numbers[i])
            try:
                self.rows.build(values, row_number)
            except RowProblem as exc:
                found.append((row_number, exc.column, exc.reason, batch.original(i)))
            else:  # a value problem the row builder does not see would be a bug here
                raise AssertionError(f"row {row_number}: flagged by the batch, not by the row")
        return found

    @staticmethod
    def _constants(values: tuple[str | int, ...], rows: int) -> list[pa.Array]:
        """Each value repeated over the rows, typed as it is (an integer is written unquoted)."""
        return [pa.repeat(pa.array([v])[0], rows) for v in values]


def no_backslash(values: Iterable[object]) -> bool:
    """Whether no value holds a backslash, so that ``copy_rows`` may write them as COPY's text
    format (``text``)."""
    return not any("\\" in str(value) for value in values)


_TEXT = pacsv.WriteOptions(
    include_header=False, delimiter="\t", null_string="\\N", quoting_style="none"
)
_CSV = pacsv.WriteOptions(include_header=False)


def copy_rows(table: pa.Table, text: bool) -> CopyRows:
    """The table for COPY: in its text format when ``text`` (no value holds a backslash) and
    Arrow finds no tab, quote or line ending in a value (it raises on one, unquoted), else in
    CSV, where Arrow quotes every string, so an empty string stays distinct from NULL."""
    if text:
        sink = io.BytesIO()
        try:
            pacsv.write_csv(table, sink, _TEXT)
            return CopyRows(sink.getvalue(), "text")
        except pa.ArrowInvalid:
            pass
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, _CSV)
    return CopyRows(sink.getvalue(), "csv")
