"""Turn one delivered record into its raw row and, for person-bearing entities, its identity row
(columns ``raw_tables.IDENTITY_COLUMNS``; the loader keeps it only for the first row carrying
the record, see ``ingestion.distinct_records``).

Values leave here as text in the form PostgreSQL's COPY parses (ISO dates, plain numbers), so
the database does the final typing without a second pass in Python. Each column's work is
cached by input value: dates of birth, codes and repeated identifiers are converted (and
hashed) once per load, which is where most of the loader's speed comes from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from ingestion.identifiers import nhs_number_is_valid
from ingestion.identity_fields import FIELD_NAMES
from ingestion.pseudonymise import Pseudonymiser
from ingestion.spec import Column, Entity

_INTEGER = re.compile(r"^[+-]?\d+$")
_MAX_NUMERIC_EXPONENT = 1000
_NUMERIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOLEANS = {
    "true": "t", "t": "t", "yes": "t", "y": "t", "1": "t",
    "false": "f", "f": "f", "no": "f", "n": "f", "0": "f",
}  # fmt: skip
_INT4 = 2**31
# Bounded so a column of unique values (a person id per row) cannot grow memory without limit.
_CACHE_LIMIT = 300_000  # per column; 1M-row benchmark peak about 300 MB

# strptime directives a regex can match quickly, with the datetime field each one fills.
_DIRECTIVES = {
    "Y": (r"(\d{4})", "year"),
    "m": (r"(\d{1,2})", "month"),
    "d": (r"(\d{1,2})", "day"),
    "H": (r"(\d{1,2})", "hour"),
    "M": (r"(\d{1,2})", "minute"),
    "S": (r"(\d{1,2})", "second"),
}


def token_function(pseudonymiser: Pseudonymiser, domain: str) -> Callable[[str], str | None]:
    """``pseudonymiser.token`` for one domain, about three times faster.

    ``Pseudonymiser.tokeniser``: HMAC-SHA256 with the key's inner and outer hash states
    computed once, so a token costs two hash copies instead of a new HMAC object; the result
    is identical (a test checks it against ``Pseudonymiser.token``).
    """
    return pseudonymiser.tokeniser(domain)


class RowProblem(Exception):
    """A value that cannot be stored as its spec says; the row goes to quarantine."""

    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _datetime_parser(fmt: str) -> Callable[[str], dt.datetime]:
    """A parser for ``fmt``: a compiled regex when the format allows it, else strptime."""
    pattern, fields, i = [], [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            directive = _DIRECTIVES.get(fmt[i + 1])
            if directive is None:
                return lambda text: dt.datetime.strptime(text, fmt)
            pattern.append(directive[0])
            fields.append(directive[1])
            i += 2
        else:
            pattern.append(re.escape(fmt[i]))
            i += 1
    compiled = re.compile("".join(pattern) + "$")

    def parse(text: str) -> dt.datetime:
        match = compiled.match(text)
        if match is None:
            raise ValueError("does not match")
        parts = dict(zip(fields, map(int, match.groups()), strict=True))
        return dt.datetime(
            parts.get("year", 1900), parts.get("month", 1), parts.get("day", 1),
            parts.get("hour", 0), parts.get("minute", 0), parts.get("second", 0),
        )  # fmt: skip

    return parse


def _typed(column: Column) -> Callable[[Any], Any]:
    """Parses a non-empty value; returns text for COPY (or a date for date columns)."""
    name, kind, fmt = column.name, column.type, column.format
    if kind == "text":
        return str
    if kind == "integer":

        def integer(value: Any) -> str:
            text = str(value).strip()
            if not _INTEGER.match(text):
                raise RowProblem(name, f"{text!r} is not an integer")
            number = int(text)
            if not -_INT4 <= number < _INT4:
                raise RowProblem(name, f"{text!r} is out of range for an integer")
            return str(number)

        return integer
    if kind == "numeric":

        def numeric(value: Any) -> str:
            text = str(value).strip()
            match = _NUMERIC.match(text)
            if not match:
                raise RowProblem(name, f"{text!r} is not a number")
            # PostgreSQL's numeric would overflow and fail the whole delivery, not this row.
            exponent = int(match.group(2)[1:]) if match.group(2) else 0
            if abs(exponent) > _MAX_NUMERIC_EXPONENT or len(text) > _MAX_NUMERIC_EXPONENT:
                raise RowProblem(name, f"{text[:40]!r} is out of range for a number")
            return text

        return numeric
    if kind == "boolean":

        def boolean(value: Any) -> str:
            text = str(value).strip()
            try:
                return _BOOLEANS[text.lower()]
            except KeyError:
                raise RowProblem(name, f"{text!r} is not a boolean") from None

        return boolean
    parse = _datetime_parser(fmt or "")
    want_date = kind == "date"

    def moment(value: Any) -> Any:
        if isinstance(value, dt.datetime):  # a real date cell in a workbook
            return value.date() if want_date else value
        if isinstance(value, dt.date):
            return value if want_date else dt.datetime.combine(value, dt.time())
        text = value.strip()
        try:
            parsed = parse(text)
        except ValueError:
            raise RowProblem(name, f"{text!r} is not a {kind} in format {fmt!r}") from None
        return parsed.date() if want_date else parsed

    return moment


Conversion = tuple[tuple[Any, ...], Any]


def column_converter(
    body: str, entity: Entity, column: Column, pseudonymiser: Pseudonymiser
) -> Callable[[Any], Conversion]:
    """One column's work on one delivered value: (values for raw, clear value for identity).

    Raises ``RowProblem``. The one definition of a column's conversion: the row builder caches
    it per value, the batch loader (``ingestion.batches``) calls it once per distinct value.
    """
    typed = _typed(column)
    token = token_function(pseudonymiser, entity.token_domain(body, column))
    privacy, nullable, name = column.privacy, column.nullable, column.name
    is_nhs = column.linkage == "nhs_number"
    is_date = column.type == "date"
    is_text = column.type == "text"
    null_part: tuple[Any, ...] = {"drop": ()}.get(privacy, (None,))
    if is_nhs:
        null_part = (*null_part, "f")

    def convert_typed(value: Any) -> Conversion:
        parsed = typed(value)
        if is_date:
            canonical = parsed.isoformat()
        elif isinstance(parsed, dt.datetime):
            canonical = parsed.isoformat(" ")
        else:
            canonical = parsed
        # Identity and tokens see the value without surrounding spaces; raw text stays as sent.
        clear = value.strip() if is_text else canonical
        if privacy == "clear":
            part: tuple[Any, ...] = (parsed if is_text else canonical,)
        elif privacy == "token":
            part = (token(clear),)
        elif privacy == "year":
            part = (str(parsed.year),)
        else:
            part = ()
        if is_nhs:
            part = (*part, "t" if nhs_number_is_valid(clear) else "f")
        return part, clear

    def convert_identifier(value: Any) -> Conversion:
        # The common case (ids, NHS numbers) without the typing detour: often unique, so hot.
        clear = value.strip()
        if is_nhs:
            return (token(clear), "t" if nhs_number_is_valid(clear) else "f"), clear
        return (token(clear),), clear

    convert = convert_identifier if is_text and privacy == "token" else convert_typed

    def convert_value(value: Any) -> Conversion:
        if value is None or (isinstance(value, str) and not value.strip()):
            if not nullable:
                raise RowProblem(name, "empty value in a column that must not be empty")
            return null_part, None
        return convert(value)

    return convert_value


Step = Callable[[Any], Conversion]
Cache = dict[Any, Conversion]


def _step(
    body: str, entity: Entity, column: Column, pseudonymiser: Pseudonymiser
) -> tuple[Cache, Step]:
    """One column's work, cached by input value.

    Returns the column's cache and the function that fills it; the row builder looks values
    up in the cache first.
    """
    convert_value = column_converter(body, entity, column, pseudonymiser)
    cache: Cache = {}

    def step(value: Any) -> Conversion:
        """The slow path, taken once per distinct value: the result is cached."""
        result = convert_value(value)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[value] = result
        return result

    return cache, step


class RowBuilder:
    """Builds the raw row and the identity row of each record of one delivery.

    ``build`` is generated per entity as straight-line code (one cache lookup per column,
    no loop, no per-column call on a cache hit): at a million rows, that is most of the
    difference between a loader that keeps up with COPY and one that does not.
    """

    def __init__(
        self,
        body: str,
        entity: Entity,
        pseudonymiser: Pseudonymiser,
        lineage: tuple[Any, ...],
        identity_head: tuple[Any, ...],
    ) -> None:
        namespace: dict[str, Any] = {"lineage": lineage, "identity_head": identity_head}
        lines, raw, identity = [], ["*lineage", "row_number"], ["None"] * len(FIELD_NAMES)
        slots = {role: i for i, role in enumerate(FIELD_NAMES)}
        ref = None
        for i, column in enumerate(entity.columns):
            cache, step = _step(body, entity, column, pseudonymiser)
            if column.type == "text" and column.privacy == "clear" and not column.linkage:
                # Free text and ids, often unique: checked for emptiness, never cached.
                namespace[f"step{i}"] = step
                lines.append(
                    f"    r{i} = ((v{i},),) if v{i} and not v{i}.isspace() else step{i}(v{i})"
                )
                raw.append(f"r{i}[0][0]")
                continue
            namespace[f"get{i}"], namespace[f"step{i}"] = cache.get, step
            lines.append(f"    r{i} = get{i}(v{i}) or step{i}(v{i})")
            outputs = (0 if column.privacy == "drop" else 1) + (column.linkage == "nhs_number")
            raw += [f"r{i}[0][{k}]" for k in range(outputs)]
            if column.linkage in slots:
                identity[slots[column.linkage]] = f"r{i}[1]"
            if column.linkage == "person_ref":
                ref = i
                if column.privacy == "token":
                    ref_token = f"r{i}[0][0]"
                else:  # kept only in identity: it still needs its token there
                    namespace["ref_token"] = token_function(
                        pseudonymiser, entity.token_domain(body, column)
                    )
                    ref_token = f"ref_token(r{i}[1])"
        unpack = ", ".join(f"v{i}" for i in range(len(entity.columns)))
        raw_row = f"({', '.join(raw)},)"
        if ref is None:
            result = f"    return {raw_row}, None"
        else:
            identity_row = (
                f"(*identity_head, row_number, {ref_token}, r{ref}[1], {', '.join(identity)})"
            )
            result = (
                f"    if r{ref}[1] is None:\n        return {raw_row}, None\n"
                f"    return {raw_row}, {identity_row}"
            )
        source = "\n".join(
            ["def build(values, row_number):", f"    {unpack}, = values", *lines, result]
        )
        exec(compile(source, f"<row builder {body}.{entity.name}>", "exec"), namespace)
        self.source = source
        self.build: Callable[[Sequence[Any], int], tuple[tuple, tuple | None]] = namespace["build"]
