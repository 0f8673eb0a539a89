"""Stable regional person keys: a person keeps their key when new deliveries arrive.

Each run clusters all records afresh; this module maps the new clusters onto the keys of
the previous run by overlap of member records. A previous key goes with the cluster that
holds most of its records (its home). A cluster that is home to several keys keeps the
oldest and the others are merged into it; a key whose records now sit in other clusters as
well has split there, and a cluster that is home to no key gets a new one.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

KEYS = ["source", "record_id"]


def new_person_key(taken: set[str]) -> str:
    """Random, so a key reveals nothing about the person and cannot be recomputed from them."""
    while True:
        key = "P" + secrets.token_hex(6).upper()
        if key not in taken:
            taken.add(key)
            return key


@dataclass
class KeyAssignment:
    records: pd.DataFrame  # source, record_id, cluster_id, person_key
    new_keys: list[str] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)  # retired key -> surviving key
    vanished: list[str] = field(default_factory=list)  # keys whose records all disappeared
    events: list[dict] = field(default_factory=list)  # event, person_key, other_key, records


def assign_keys(
    clusters: pd.DataFrame,
    previous: pd.DataFrame,
    key_age: dict[str, tuple] | None = None,
    taken: set[str] | None = None,
) -> KeyAssignment:
    """`clusters`: source, record_id, cluster_id; `previous`: source, record_id, person_key.

    `key_age` orders keys oldest first (default: by key); `taken` holds every key ever issued.
    """
    key_age = key_age or {}
    taken = set(taken or ()) | set(previous["person_key"])
    joined = clusters[[*KEYS, "cluster_id"]].merge(
        previous[[*KEYS, "person_key"]], on=KEYS, how="left"
    )
    known = joined.dropna(subset=["person_key"])
    overlap = known.groupby(["person_key", "cluster_id"]).size().rename("records").reset_index()
    home = (
        overlap.sort_values(["person_key", "records", "cluster_id"], ascending=[True, False, True])
        .drop_duplicates("person_key")
        .set_index("person_key")["cluster_id"]
    )
    # Plain dictionaries, one pass each: a lookup per key or merge, not a pandas index built per
    # cluster or a scan of every overlap per merged key (those grew as people x clusters).
    home_of = dict(zip(home.index, home.to_numpy(), strict=True))
    members: dict = defaultdict(list)
    for key, cluster_id in home_of.items():
        members[cluster_id].append(key)
    records_in = dict(
        zip(
            zip(overlap["person_key"], overlap["cluster_id"], strict=True),
            overlap["records"],
            strict=True,
        )
    )
    result = KeyAssignment(records=pd.DataFrame())
    cluster_key: dict[str, str] = {}
    for cluster_id in sorted(members):
        ordered = sorted(members[cluster_id], key=lambda k: (key_age.get(k, (float("inf"),)), k))
        survivor, *others = ordered
        cluster_key[cluster_id] = survivor
        for other in others:
            result.merged[other] = survivor
            result.events.append(
                dict(
                    event="merge",
                    person_key=other,
                    other_key=survivor,
                    records=int(records_in[(other, cluster_id)]),
                )
            )
    for cluster_id in joined["cluster_id"].unique():
        if cluster_id not in cluster_key:
            cluster_key[cluster_id] = new_person_key(taken)
            result.new_keys.append(cluster_key[cluster_id])
    for (key, cluster_id), records in records_in.items():
        if home_of[key] != cluster_id:
            result.events.append(
                dict(
                    event="split",
                    person_key=key,
                    other_key=cluster_key[cluster_id],
                    records=int(records),
                )
            )
    result.vanished = sorted(set(previous["person_key"]) - set(home.index))
    joined["person_key"] = joined["cluster_id"].map(cluster_key)
    result.records = joined
    return result
