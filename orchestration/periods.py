"""Delivery periods as Dagster partitions whose materialisations come out in period order.

A body's raw assets are partitioned by delivery period (``YYYY-MM``, dynamic: a period exists
once something was delivered for it). One run may load many periods (a single-run backfill,
``materialize_landing``); Dagster then writes one materialisation per period, in the order of
the run's partition subset. For dynamic partitions that subset is a ``DefaultPartitionsSubset``,
a Python set, so the periods came out in hash order: the asset's "Latest materialization" showed
an arbitrary period and the events read back out of order. Dagster 1.13 has no way for an asset
to yield one result per partition (dagster-io/dagster#21072, #18123), so the subset here iterates
its periods in order; everything else about it is Dagster's own (it is still a
``DefaultPartitionsSubset``, and the definition is still a ``DynamicPartitionsDefinition`` with
the same name, so the UI, the daemon and the instance see no difference).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
from dagster._core.definitions.partitions.subset.default import DefaultPartitionsSubset
from dagster_shared.serdes.serdes import _WHITELIST_MAP


class PeriodOrderedSubset(DefaultPartitionsSubset):
    """A set of periods that lists them in order (``YYYY-MM`` sorts as time)."""

    def get_partition_keys(self) -> Iterable[str]:
        return sorted(self.subset)

    def with_partition_keys(self, partition_keys: Iterable[str]) -> PeriodOrderedSubset:
        return PeriodOrderedSubset(self.subset | set(partition_keys))


class PeriodPartitionsDefinition(dg.DynamicPartitionsDefinition):
    """A body's delivery periods: dynamic partitions whose run subsets iterate in period order."""

    def empty_subset(self) -> PeriodOrderedSubset:
        return PeriodOrderedSubset()

    def __hash__(self) -> int:
        # Dagster hashes a partitions definition by its repr, which names the class; hash as the
        # DynamicPartitionsDefinition this equals, so that both are one key in Dagster's dicts
        # (an asset partitioned by either may share a job with the raw assets).
        return hash(dg.DynamicPartitionsDefinition(name=self.name))


# Stored (a backfill's or a cursor's subset) as the DefaultPartitionsSubset it is, so processes
# that never import this module (the daemon, the webserver) read it back.
_WHITELIST_MAP.object_serializers[PeriodOrderedSubset.__name__] = _WHITELIST_MAP.object_serializers[
    DefaultPartitionsSubset.__name__
]
