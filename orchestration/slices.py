"""The slice a build after a delivery rebuilds, passed to dbt in the environment (``JIGSAW_SLICE``).

A body's deliveries change some periods of its extracts (loaded, replaced by a corrected
re-delivery, emptied, expired: the ledger says which), and the identity resolution that follows
may re-key some people (merges, splits, new keys: linkage.person_key_events and
linkage.person_keys). The person-level dbt models then replace only that slice
(dbt_project/macros/slices.sql): the periods' rows and the re-keyed people's whole history.
A build without a slice (the nightly one, dbt by hand) builds as it always has.

The slice is an environment variable, not a dbt var: dbt hashes every --vars value for partial
parsing, so a var that changes with each delivery made every build after one re-parse the whole
project. dbt reads the variable only when it executes (macros/slices.sql, delivery_slice).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg import Connection

from ingestion import ledger
from ingestion.spec import load_specs
from jigsaw.database import environment_restored
from linkage import store

ENV_VARIABLE = "JIGSAW_SLICE"
# Run tags of a build after a delivery: the body, and since when its deliveries and identity
# resolution count (the ingestion run's start); the build adds TAG_SLICE, what it built.
TAG_BODY = "jigsaw/slice_body"
TAG_SINCE = "jigsaw/slice_since"
TAG_SLICE = "jigsaw/slice"


@dataclass(frozen=True)
class DeliverySlice:
    periods: tuple[tuple[str, str, str], ...] = ()  # (body, entity, period)
    person_keys: tuple[str, ...] = ()

    def dbt_var(self) -> dict:
        return {
            "periods": [{"body": b, "entity": e, "period": p} for b, e, p in self.periods],
            "person_keys": list(self.person_keys),
        }

    def dbt_env(self) -> dict[str, str]:
        """Environment of a dbt command that builds this slice only."""
        return {ENV_VARIABLE: json.dumps(self.dbt_var())}

    def describe(self) -> str:
        """For an operator: which periods and how many people the build replaced."""
        by_extract: dict[str, list[str]] = {}
        for body, entity, period in self.periods:
            by_extract.setdefault(f"{body}.{entity}", []).append(period)
        periods = "; ".join(f"{k} {', '.join(v)}" for k, v in sorted(by_extract.items()))
        return f"{periods or 'no period'}; {len(self.person_keys)} re-keyed people"


def slice_after(
    conn: Connection, body: str, since: dt.datetime, until: dt.datetime | None = None
) -> DeliverySlice:
    """What a body's deliveries settled since ``since`` (until ``until``) changed, and the
    people identity resolution re-keyed since then."""
    periods = ledger.changed_periods(conn, body, since, until) if ledger.exists(conn) else []
    return DeliverySlice(tuple(periods), tuple(store.rekeyed_person_keys(conn, since)))


@contextmanager
def slice_env(delivery_slice: DeliverySlice | None) -> Iterator[None]:
    """The slice in the environment of a dbt command started in the block (none: the variable
    is unset, so a build without a slice never inherits one); as it was afterwards."""
    with environment_restored([ENV_VARIABLE]):
        os.environ.pop(ENV_VARIABLE, None)
        if delivery_slice is not None:
            os.environ.update(delivery_slice.dbt_env())
        yield


def run_tags(body: str, since: dt.datetime) -> dict[str, str]:
    return {TAG_BODY: body, TAG_SINCE: since.astimezone(dt.UTC).isoformat()}


# Extracts not about people whose periods a build can still replace alone: each is read by
# one model that replaces a slice's periods (home sensors: fct_sensor_reading_daily, by
# macros/slices.sql sensor_day_in_slice), and what is built on that model is rebuilt whole.
PERIOD_SLICED_EXTRACTS = frozenset({("home_sensors", "sensor_readings")})


def builds_by_slice(delivery_slice: DeliverySlice) -> bool:
    """Whether every period of the slice is of an extract about people, or of one replaced by
    period (PERIOD_SLICED_EXTRACTS). A slice names rows of people; a delivery of places or
    reference data (the gazetteer, deprivation, licences) changes every person living there, so
    its build rebuilds everything instead."""
    extracts = {
        (spec.body, entity.name): entity for spec in load_specs() for entity in spec.entities
    }
    return all(
        (body, entity) in PERIOD_SLICED_EXTRACTS
        or (extracts.get((body, entity)) is not None and extracts[(body, entity)].has_person)
        for body, entity, _period in delivery_slice.periods
    )


def slice_of_run(conn: Connection, tags: dict[str, str]) -> DeliverySlice | None:
    """The slice a run builds, from its tags; None (build everything) for a run of no delivery
    (nightly) or of deliveries a slice cannot rebuild (builds_by_slice)."""
    if TAG_BODY not in tags or TAG_SINCE not in tags:
        return None
    found = slice_after(conn, tags[TAG_BODY], dt.datetime.fromisoformat(tags[TAG_SINCE]))
    return found if builds_by_slice(found) else None
