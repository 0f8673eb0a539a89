"""Which identity rows of one delivery are new: the first row carrying each distinct record.

identity.person_records holds one row per distinct person record per delivery (see
``ingestion.raw_tables``). Both load paths keep the first row of each record and drop its
repeats: the row path asks row by row, the batch path hands over a batch's rows as columns
and gets back those to keep, deduplicated in Arrow within the batch and against the earlier
batches of the delivery.

What is remembered across the delivery is a 128-bit key of each record, not its values, so
memory stays small when records are nearly all distinct (16 bytes a record in the batch path:
8 MB for half a million). In the row path the values are first encoded injectively (joined by
NUL, which no stored value holds, followed by a bit mask of which are null) and the key is two
64-bit SipHash values (Python's keyed ``hash``) of two different inputs made from that encoding.
In the batch path the key is Polars' row hash (``hash_rows``, nulls told from empty strings)
under two seeds, computed for a whole batch in native code: seven times faster than encoding
and hashing each record in Python, which was a seventh of the loader's build thread. Either way
two distinct records share a key only if both halves collide (odds about n² / 2^129 for n
records), and a delivery takes one path, so the two kinds of key never meet.

A delivered row finds its record through its person reference, which names one record unless
the reference carries several in the delivery (two tenancies, a new address). For those
references alone the rows are listed with their record (``ambiguous_rows``, written to
identity.record_rows), so each row keeps its own record's address. To list them at the end of
the delivery, each row's record is remembered as it goes (its row number and the record's
ordinal: 8 bytes a row, in a temporary file in the batch path), and each record's reference by
the hash of its token: references are
grouped as dbt groups them, and two references sharing a hash only list more rows, never fewer.
The same per-row ordinals count each record's rows (``repeated_records``): linkage weighs a
record's values by the delivered rows that carry them.
"""

from __future__ import annotations

import io
import tempfile
import weakref
from array import array
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np
import polars as pl
import pyarrow as pa

_SEPARATOR = "\x00"
_SALT = b"\x01"  # prefixed for the second half of the key: another input, another hash
_LOW_BITS = (1 << 64) - 1


def _encoded(values: Sequence[Any]) -> bytes:
    fields = _SEPARATOR.join("" if v is None else str(v) for v in values)
    nulls = sum(1 << i for i, v in enumerate(values) if v is None)
    return f"{fields}{_SEPARATOR}{nulls}".encode()


def _key(encoded: bytes) -> int:
    """The two halves as one int (one object a record, not a tuple of three)."""
    return (hash(encoded) << 64) | (hash(_SALT + encoded) & _LOW_BITS)


_SEEDS = (0x6A09E667, 0xBB67AE85)  # any two different seeds: two different hash functions


def _frame(columns: Sequence[pa.Array | pa.ChunkedArray]) -> pl.DataFrame:
    return pl.DataFrame({f"c{i}": column for i, column in enumerate(columns)})


def row_keys(columns: Sequence[pa.Array | pa.ChunkedArray]) -> tuple[np.ndarray, np.ndarray]:
    """The key of each row's record, as two arrays (high and low halves)."""
    frame = _frame(columns)
    return tuple(frame.hash_rows(seed).to_numpy().view(np.int64) for seed in _SEEDS)


def _value_hashes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each value (references are grouped by it)."""
    return _frame([values]).hash_rows(_SEEDS[0]).to_numpy().view(np.int64)


def _repeated(values: np.ndarray) -> np.ndarray:
    """Whether each value occurs more than once: by a sorted copy and a search in the few
    repeated values, about a third of the memory of ``np.unique``'s inverse and counts (which
    took 350 MB at the end of a ten-million-row delivery)."""
    ordered = np.sort(values)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    if not len(twice):
        return np.zeros(len(values), bool)
    twice = np.unique(twice)
    at = np.searchsorted(twice, values)
    np.minimum(at, len(twice) - 1, out=at)
    return twice[at] == values


class _Run:
    """Keys of records (high and low halves) with their ordinals, sorted by the high half."""

    def __init__(self, high: np.ndarray, low: np.ndarray, ordinal: np.ndarray) -> None:
        order = np.argsort(high, kind="stable")
        self.high, self.low, self.ordinal = high[order], low[order], ordinal[order]

    def __len__(self) -> int:
        return len(self.high)

    def merged(self, other: _Run) -> _Run:
        where = np.searchsorted(self.high, other.high)
        run = _Run.__new__(_Run)
        run.high = np.insert(self.high, where, other.high)
        run.low = np.insert(self.low, where, other.low)
        run.ordinal = np.insert(self.ordinal, where, other.ordinal)
        return run

    def find(self, high: np.ndarray, low: np.ndarray, seen: np.ndarray, ordinals: np.ndarray):
        """Marks the keys found here as ``seen`` and sets their ``ordinals``."""
        at = np.searchsorted(self.high, high)
        same_high = at < len(self.high)
        same_high[same_high] = self.high[at[same_high]] == high[same_high]
        found = np.zeros(len(high), bool)
        found[same_high] = self.low[at[same_high]] == low[same_high]
        ordinals[found] = self.ordinal[at[found]]
        for i in np.flatnonzero(same_high & ~found):  # another record with that high half
            end = np.searchsorted(self.high, high[i], "right")
            match = np.flatnonzero(self.low[at[i] : end] == low[i])
            if len(match):
                found[i] = True
                ordinals[i] = self.ordinal[at[i] + match[0]]
        seen |= found


class _RowSpill:
    """Pairs of (row number, record ordinal) of a delivery's batches in a temporary file, read
    back in parts at its end: kept in memory, 8 bytes a delivered row grew the loader by 80 MB
    at ten million rows."""

    PART_ROWS = 1 << 20

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None

    def append(self, numbers: np.ndarray, records: np.ndarray) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by its finaliser
            weakref.finalize(self, self._file.close)
        pairs = np.empty((len(numbers), 2), np.int32)
        pairs[:, 0], pairs[:, 1] = numbers, records
        self._file.write(pairs.tobytes())

    def parts(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self._file is None:
            return
        self._file.seek(0)
        while chunk := self._file.read(self.PART_ROWS * 8):
            pairs = np.frombuffer(chunk, np.int32).reshape(-1, 2)
            yield pairs[:, 0], pairs[:, 1]
        self._file.seek(0, io.SEEK_END)  # further batches append after the end


class _Filter:
    """Which keys may have been seen, by the top bits of their high half: one bit a slot, so a
    key whose bit is unset was never added (a Bloom filter of one hash; 8 MB, under 1 % of its
    bits set at a million records)."""

    _BITS = 26

    def __init__(self) -> None:
        self._bytes = np.zeros(1 << (self._BITS - 3), np.uint8)

    def _slots(self, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slot = high.view(np.uint64) >> np.uint64(64 - self._BITS)
        return slot >> np.uint64(3), np.uint8(1) << (slot & np.uint64(7)).astype(np.uint8)

    def may_hold(self, high: np.ndarray) -> np.ndarray:
        where, bit = self._slots(high)
        return (self._bytes[where] & bit) != 0

    def add(self, high: np.ndarray) -> None:
        where, bit = self._slots(high)
        np.bitwise_or.at(self._bytes, where, bit)


class KeyIndex:
    """128-bit keys (high and low halves, as ``row_keys`` makes them) with an int32 value each,
    over a whole delivery: a filter of the keys added, and runs of keys sorted by their high
    half whose sizes fall from first to last, as a binary counter's bits, so a delivery's keys
    are merged O(log n) times each (one array rewritten every batch grew quadratic)."""

    def __init__(self) -> None:
        self._filter = _Filter()
        self._runs: list[_Run] = []

    def find(self, high: np.ndarray, low: np.ndarray) -> np.ndarray:
        """Each key's value, or -1 for a key not added. Only the keys the filter may hold are
        searched for in the runs: most keys of a delivery are new."""
        values = np.full(len(high), -1, np.int64)
        maybe = np.flatnonzero(self._filter.may_hold(high))
        if len(maybe):
            seen, found = np.zeros(len(maybe), bool), values[maybe]
            for run in self._runs:
                run.find(high[maybe], low[maybe], seen, found)
            values[maybe] = found
        return values

    def add(self, high: np.ndarray, low: np.ndarray, values: np.ndarray) -> None:
        if not len(high):
            return
        self._filter.add(high)
        self._runs.append(_Run(high, low, values.astype(np.int32)))
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = self._runs[-1].merged(last)


class DistinctRecords:
    """The records of one delivery seen so far, by key: a dict for the row path, and for the
    batch path runs of keys sorted by their high half (with the low half and the record's
    ordinal; searched and merged with numpy). Either path also remembers each row's record and
    each record's reference and first row, for ``ambiguous_rows``."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}  # key -> record ordinal
        self._index: KeyIndex | None = KeyIndex()  # key -> record ordinal, for the batch path
        self._count = 0  # records so far; a record's ordinal is its place in first-row order
        # By record ordinal and by row, in parts: the row path's arrays, then the batches'.
        self._record_refs: list[Any] = [array("q")]  # hash of the person reference's token
        self._record_first_rows: list[Any] = [array("i")]
        # Each row's number and record: the row path's in memory, the batches' spilled.
        self._row_numbers, self._row_records = array("i"), array("i")
        self._spilled_rows = _RowSpill()

    def first_time(self, values: Sequence[Any], ref_token: str, row_number: int) -> bool:
        """Whether this row's record (its distinguishing values) was not seen before; it is
        remembered from now on, and the row as carrying it."""
        key = _key(_encoded(values))
        ordinal = self._seen.get(key)
        new = ordinal is None
        if new:
            ordinal = self._seen[key] = self._count
            self._count += 1
            self._record_refs[0].append(hash(ref_token))
            self._record_first_rows[0].append(row_number)
        self._row_numbers.append(row_number)
        self._row_records.append(ordinal)
        return new

    def first_rows(
        self,
        columns: Sequence[pa.Array | pa.ChunkedArray],
        ref_tokens: pa.Array | pa.ChunkedArray,
        row_numbers: np.ndarray,
    ) -> np.ndarray:
        """Positions (ascending) of the rows whose record is seen here for the first time, given
        the records' distinguishing values as columns, each row's reference token and row
        number; those records are remembered, and each row as carrying its record."""
        if not len(columns) or not len(columns[0]):
            return np.zeros(0, np.int64)
        high, low = row_keys(columns)
        # The batch's distinct keys with the first row of each: a stable sort keeps row order
        # among equal keys.
        order = np.lexsort((low, high))
        high, low = high[order], low[order]
        starts = np.ones(len(order), bool)
        starts[1:] = (high[1:] != high[:-1]) | (low[1:] != low[:-1])
        group = np.cumsum(starts) - 1  # each sorted row's distinct key
        high, low, rows = high[starts], low[starts], order[starts]
        # Seen in an earlier batch? Then its ordinal.
        ordinals = self._index.find(high, low)
        new = np.flatnonzero(ordinals < 0)
        first = np.sort(rows[new])  # new records get their ordinals in first-row order
        ordinals[new] = self._count + np.argsort(np.argsort(rows[new]))
        self._count += len(new)
        self._index.add(high[new], low[new], ordinals[new])
        self._record_refs.append(_value_hashes(ref_tokens.take(pa.array(first))))
        self._record_first_rows.append(row_numbers[first].astype(np.int32))
        row_records = np.empty(len(order), np.int32)
        row_records[order] = ordinals[group]
        self._spilled_rows.append(row_numbers, row_records)
        return first

    def finish(self) -> None:
        """No more rows come: the look-ups of records seen so far are let go before the
        delivery's end rows are worked out (at ten million rows, 5.2 million records, about
        110 MB)."""
        self._seen, self._index = {}, None

    def ambiguous_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the references that carry more than one record in the delivery, and the
        first row of each one's record: (row numbers, first row numbers)."""
        refs, first_rows = (
            np.concatenate([np.asarray(part) for part in parts])
            for parts in (self._record_refs, self._record_first_rows)
        )
        shared = _repeated(refs)  # by record
        rows, firsts = [], []
        for numbers, records in self._row_parts():
            listed = shared[records]
            rows.append(numbers[listed])
            firsts.append(first_rows[records[listed]])
        return np.concatenate(rows), np.concatenate(firsts)

    def _row_parts(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each row's number and record, part by part: the delivery's rows are never all in
        memory at once."""
        yield np.asarray(self._row_numbers), np.asarray(self._row_records)
        yield from self._spilled_rows.parts()

    def repeated_records(self) -> tuple[np.ndarray, np.ndarray]:
        """The records carried by more than one row of the delivery: (first row numbers, rows
        carrying each). A record carried once is not listed (its count is identity's default)."""
        first_rows = np.concatenate([np.asarray(part) for part in self._record_first_rows])
        counts = np.zeros(len(first_rows), np.int64)
        for _, records in self._row_parts():
            counts += np.bincount(records, minlength=len(first_rows))
        repeated = counts > 1
        return first_rows[repeated], counts[repeated]
