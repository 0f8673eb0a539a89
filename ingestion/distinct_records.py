"""Which identity rows of one delivery are new: the first row carrying each distinct record.

identity.person_records holds one row per distinct person record per delivery (see
``ingestion.raw_tables``). Both load paths keep the first row of each record and drop its
repeats: the row path asks row by row, the batch path hands over a batch's rows as columns
and gets back those to keep, deduplicated in Arrow within the batch and against the earlier
batches of the delivery.

What is remembered across the delivery is a 128-bit key of each record, not its values, so
memory stays small when records are nearly all distinct (16 bytes a record in the batch path:
8 MB for half a million). The values are first encoded injectively: joined by NUL, which no stored
value holds (PostgreSQL text cannot, so a delivery with one fails whole), and followed by a
bit mask of which are null. The key is two 64-bit SipHash values (Python's keyed ``hash``) of two
different inputs made from that encoding; two distinct records share a key only if both
collide (odds about n² / 2^129 for n records). In the batch path everything runs in C and
numpy, with no Python statement per record: the HMAC tokens already cost the loader most of
its client time, and each microsecond per record is a second per million rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_SEPARATOR = "\x00"
_SALT = b"\x01"  # prefixed for the second half of the key: another input, another hash
_LOW_BITS = (1 << 64) - 1


def _encoded(values: Sequence[Any]) -> bytes:
    fields = _SEPARATOR.join("" if v is None else str(v) for v in values)
    nulls = sum(1 << i for i, v in enumerate(values) if v is None)
    return f"{fields}{_SEPARATOR}{nulls}".encode()


def _encoded_columns(columns: Sequence[pa.Array | pa.ChunkedArray]) -> list[bytes]:
    """``_encoded`` of every row at once."""
    columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    nulls = np.zeros(len(columns[0]), np.int64)
    for i, column in enumerate(columns):
        if column.null_count:
            nulls |= column.is_null().to_numpy(zero_copy_only=False).astype(np.int64) << i
    fields = [pc.fill_null(c.cast(pa.string()), "") for c in columns]
    joined = pc.binary_join_element_wise(*fields, pa.array(nulls).cast(pa.string()), _SEPARATOR)
    return joined.cast(pa.binary()).to_pylist()


def _key(encoded: bytes) -> int:
    """The two halves as one int (one object a record, not a tuple of three)."""
    return (hash(encoded) << 64) | (hash(_SALT + encoded) & _LOW_BITS)


def _keys(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """``_key`` of each encoded record, as two arrays (high and low halves)."""
    count = len(encoded)
    high = np.fromiter(map(hash, encoded), np.int64, count)
    low = np.fromiter(map(hash, map(_SALT.__add__, encoded)), np.int64, count)
    return high, low


class DistinctRecords:
    """The records of one delivery seen so far, by key: a set for the row path, and for the
    batch path two arrays sorted by the high half (16 bytes a record, searched and merged
    with numpy)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._high = np.zeros(0, np.int64)
        self._low = np.zeros(0, np.int64)

    def first_time(self, values: Sequence[Any]) -> bool:
        """Whether this row's record (its distinguishing values) was not seen before; it is
        remembered from now on."""
        key = _key(_encoded(values))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def first_rows(self, columns: Sequence[pa.Array | pa.ChunkedArray]) -> np.ndarray:
        """Positions (ascending) of the rows whose record is seen here for the first time, given
        the records' distinguishing values as columns; those records are remembered."""
        if not len(columns) or not len(columns[0]):
            return np.zeros(0, np.int64)
        if len(columns) >= 63:  # the null mask is an int64
            raise ValueError(f"{len(columns)} columns: at most 62 can be told apart")
        high, low = _keys(_encoded_columns(columns))
        # The batch's distinct keys with the first row of each: a stable sort keeps row order
        # among equal keys.
        order = np.lexsort((low, high))
        high, low = high[order], low[order]
        starts = np.ones(len(order), bool)
        starts[1:] = (high[1:] != high[:-1]) | (low[1:] != low[:-1])
        high, low, rows = high[starts], low[starts], order[starts]
        # Seen in an earlier batch?
        at = np.searchsorted(self._high, high)
        same_high = at < len(self._high)
        same_high[same_high] = self._high[at[same_high]] == high[same_high]
        seen = np.zeros(len(high), bool)
        seen[same_high] = self._low[at[same_high]] == low[same_high]
        for i in np.flatnonzero(same_high & ~seen):  # another record with that high half
            run = slice(at[i], np.searchsorted(self._high, high[i], "right"))
            seen[i] = bool((self._low[run] == low[i]).any())
        new = ~seen
        where = np.searchsorted(self._high, high[new])
        self._high = np.insert(self._high, where, high[new])
        self._low = np.insert(self._low, where, low[new])
        return np.sort(rows[new])
