"""Blocking that scales: every block is capped, so pairs compared grow with the records
rather than with their square (counted by splink on the plan's own rules, not timed)."""

from __future__ import annotations

import pandas as pd
from splink import block_on
from splink.backends.duckdb import DuckDBAPI
from splink.blocking_analysis import count_comparisons_from_blocking_rules, n_largest_blocks

from benchmarks.linkage_sets import make_set
from linkage.inputs import ColumnMapping, load_table
from linkage.linker import splink_tables
from linkage.model import CANDIDATE_RULES, MAX_BLOCK, RULE_FLOOR, plan
from linkage.records import collapse
from linkage.standardise import identifier_fields, standardise


def _one_family(size: int) -> pd.DataFrame:
    """Every record a SMITH (one block of all records on the family name) but three ZYGMUNTs;
    postcodes shared by two records each."""
    given = [f"{chr(65 + i % 26)}{i % 700}" for i in range(size)]
    return pd.DataFrame(
        {
            "unique_id": range(size),
            "given_name": given,
            "given_name_canonical": given,
            "family_name": ["ZYGMUNT"] * 3 + ["SMITH"] * (size - 3),
            "date_of_birth": [f"19{i % 90 + 10}-01-{i % 28 + 1:02d}" for i in range(size)],
            "postcode": [f"PC{i % (size // 2)}" for i in range(size)],
            **dict.fromkeys(("sex", "address", "nhs_number", "nhs_number_valid")),
        }
    )


def _splink_inputs(records: pd.DataFrame, chosen):
    db_api = DuckDBAPI()
    frames = [db_api.register(t) for t in splink_tables(records, chosen)]
    return frames if len(frames) > 1 else frames[0]


def test_a_field_of_one_value_is_blocked_in_capped_blocks_and_rare_values_whole():
    records = _one_family(1500)
    # A rule holding few pairs in all (here SMITH by year of birth, 12,000) is used whole.
    year = "family_name + substr(date_of_birth, 1, 4)"
    whole = {r.name: r for r in plan(records, [], "dedupe_only").rules}[year]
    assert whole.narrowed == 0 and 10_000 < whole.pairs <= RULE_FLOOR
    chosen = plan(records, [], "dedupe_only", rule_floor=0)
    rules = {r.name: r for r in chosen.rules}
    assert rules[year].narrowed > 0.99
    family = rules["family_name"]
    # Uncapped this rule would compare 1.1 million pairs; split by decade, then initial.
    assert family.narrowed > 0.99 and family.pairs <= len(records) * (MAX_BLOCK - 1) / 2
    # The rare surname keeps its whole block (the rule's own key, not narrowed).
    keys = chosen.block_keys[family.column].to_pylist()
    assert keys[0] == keys[1] == keys[2] == "ZYGMUNT"
    assert rules["postcode"].narrowed == 0  # blocks of two: kept as they are
    assert "date_of_birth" not in [r.name for r in CANDIDATE_RULES]

    inputs = _splink_inputs(records, chosen)
    for blocking in chosen.rules:
        if blocking.column is None:
            continue
        largest = n_largest_blocks(
            inputs, blocking_rule=blocking.creator(), link_type="dedupe_only", n_largest=1
        ).as_pandas_dataframe()
        # splink counts a block of n records as n * n (before the pairs are filtered).
        assert largest["block_count"].max() <= MAX_BLOCK**2, blocking.name
    raw, capped = (
        count_comparisons_from_blocking_rules(
            inputs, blocking_rules=rules, link_type="dedupe_only", record_sample_proportion=1.0
        )[-1]["cumulative_comparison_count"]
        for rules in ([block_on("family_name")], [r.creator() for r in chosen.rules])
    )
    assert raw == 1497 * 1496 // 2 + 3
    # All the plan's rules together compare a few pairs per record, not millions.
    assert capped <= len(records) * len(chosen.rules) * (MAX_BLOCK - 1) / 2
    assert capped < raw / 100


def _standardised(name: str, people: int) -> tuple[pd.DataFrame, str]:
    evaluation = make_set(name, people, seed=5)
    mapping = ColumnMapping.from_dict(evaluation.mapping)
    rows = pd.concat(
        [load_table(t, mapping, i + 1) for i, t in enumerate(evaluation.tables)],
        ignore_index=True,
    )
    records = standardise(collapse(rows), date_format="%Y-%m-%d", postcode_format="as_given")
    records = records.reset_index(drop=True)
    records["unique_id"] = range(len(records))
    return records, evaluation.link_type


def _pairs_per_record(records: pd.DataFrame, link_type: str, extra=()) -> float:
    # rule_floor=0: small inputs are capped too, so the cap is what is measured here.
    chosen = plan(records, identifier_fields(records.columns), link_type, rule_floor=0)
    counted = count_comparisons_from_blocking_rules(
        _splink_inputs(records, chosen),
        blocking_rules=[*extra, *(r.creator() for r in chosen.rules)],
        link_type=link_type,
        record_sample_proportion=1.0,
    )
    return counted[-1]["cumulative_comparison_count"] / len(records)


# Pairs per record may grow by at most this factor when the records are quadrupled (about
# 1.15 measured on this set between 1,000 and 4,000 people); with a rule on a surname alone
# it is 3.4.
FLAT = 1.25


def test_pairs_per_record_stay_flat_when_the_records_are_quadrupled():
    small, link_type = _standardised("continental_link", 1000)
    large, _ = _standardised("continental_link", 4000)
    growth = _pairs_per_record(large, link_type) / _pairs_per_record(small, link_type)
    assert growth <= FLAT, growth
    # The measure can fail: with a rule on the surname alone it grows with the square.
    raw = [block_on("family_name")]
    uncapped = _pairs_per_record(large, link_type, raw) / _pairs_per_record(small, link_type, raw)
    assert uncapped > 2.5, uncapped
