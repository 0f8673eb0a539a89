"""The batch loader's list of whitespace characters is exactly Python's ``str.isspace``, so a
value is blank in the batch path exactly when it is blank in the row path."""

import sys

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.batches import _BLANK, WHITESPACE_CODE_POINTS


def test_whitespace_code_points_are_pythons_isspace_characters():
    isspace = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert list(WHITESPACE_CODE_POINTS) == isspace


def test_blank_pattern_matches_what_isspace_calls_blank():
    values = ["", " \t\r\n", "\u3000\xa0\u2028", "a ", " \u200b ", "\x1f"]
    matched = pc.match_substring_regex(pa.array(values), _BLANK).to_pylist()
    assert matched == [v.isspace() or v == "" for v in values]
