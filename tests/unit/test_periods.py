"""Delivery-period partitions (orchestration/periods.py): Dagster's own dynamic partitions, whose
subsets list their periods in order and are stored as Dagster's own subsets."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.partitions.subset.default import DefaultPartitionsSubset
from dagster._serdes import deserialize_value, serialize_value

from orchestration.periods import PeriodPartitionsDefinition

PERIODS = ["2026-03", "2025-11", "2026-01", "2025-12", "2026-02"]


def test_a_subset_lists_its_periods_in_order_however_they_were_added():
    periods = PeriodPartitionsDefinition(name="police__periods")
    subset = periods.empty_subset().with_partition_keys(PERIODS[:2]).with_partition_keys(PERIODS)
    assert list(subset.get_partition_keys()) == sorted(PERIODS)


def test_it_is_the_dynamic_partitions_definition_of_the_same_name():
    periods = PeriodPartitionsDefinition(name="police__periods")
    plain = dg.DynamicPartitionsDefinition(name="police__periods")
    assert periods == plain and hash(periods) == hash(plain)
    assert len({periods, plain}) == 1
    assert isinstance(periods, dg.DynamicPartitionsDefinition)


def test_a_stored_subset_reads_back_as_dagsters_own():
    subset = PeriodPartitionsDefinition(name="p").empty_subset().with_partition_keys(PERIODS)
    stored = serialize_value(subset)
    read = deserialize_value(stored, DefaultPartitionsSubset)
    assert type(read) is DefaultPartitionsSubset
    assert set(read.get_partition_keys()) == set(PERIODS)
