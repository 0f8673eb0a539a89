"""The CSV reader against the csv module's own writer: random records whose fields hold
delimiters, quotes and line breaks, one of them over the field limit inside a quoted field that
spans lines. That record, and only it, is quarantined with its row number; every other record
reads back as written."""

from __future__ import annotations

import csv
import random

import pytest

from ingestion.readers import read_records
from tests.ingestion import deliveries as d

# A lone CR is left out: the csv writer does not quote it, and the reader (rightly) quarantines
# an unquoted line break (tests/ingestion/corpus.py).
TOKENS = ["a", "b", " ", ",", '"', "\n", "\r\n", "|", ";"]
LIMIT = csv.field_size_limit()


def _field(rng: random.Random) -> str:
    return "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 12)))


def _oversize(rng: random.Random) -> str:
    lines = [_field(rng) + "x" * (LIMIT // 3) for _ in range(4)]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(12))
def test_an_oversize_field_costs_only_its_record(tmp_path, specs, seed):
    rng = random.Random(seed)
    [police] = [s for s in specs if s.body == "police"]
    [entity] = police.entities
    rows = [d.police_row(i, ADDRESS=_field(rng), SURNAME=_field(rng)) for i in range(1, 21)]
    bad = rng.randint(1, 20)
    rows[bad - 1] = d.police_row(bad, ADDRESS=_oversize(rng))
    path = d.write_csv(tmp_path / "incidents_2026-01.csv", d.POLICE_HEADER, rows)

    records = list(read_records(path, entity))

    assert [r.row_number for r in records] == list(range(1, 21))
    assert [r.row_number for r in records if r.problem] == [bad]
    assert "field larger than field limit" in records[bad - 1].problem[1]
    names = [c.source_name for c in entity.columns]
    for record, row in zip(records, rows, strict=True):
        if record.problem is None:
            assert list(record.values) == [row[d.POLICE_HEADER.index(n)] for n in names]
