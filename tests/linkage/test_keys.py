"""Stable person keys: keys survive re-clustering; merges and splits are named."""

import pandas as pd

from linkage.keys import assign_keys


def frame(rows, column):
    return pd.DataFrame(rows, columns=["source", "record_id", column])


def test_unchanged_clusters_keep_their_keys_and_new_records_join_them():
    previous = frame([("a", "1", "PA"), ("b", "1", "PA"), ("a", "2", "PB")], "person_key")
    clusters = frame(
        [("a", "1", "x"), ("b", "1", "x"), ("c", "9", "x"), ("a", "2", "y")], "cluster_id"
    )
    result = assign_keys(clusters, previous)
    keys = dict(
        zip(
            result.records["record_id"] + result.records["source"],
            result.records["person_key"],
            strict=True,
        )
    )
    assert keys == {"1a": "PA", "1b": "PA", "9c": "PA", "2a": "PB"}
    assert result.events == [] and result.new_keys == []


def test_merge_keeps_the_older_key_and_split_gives_the_smaller_part_a_new_key():
    previous = frame(
        [
            ("a", "1", "PNEW"),
            ("a", "2", "POLD"),
            ("a", "3", "PS"),
            ("a", "4", "PS"),
            ("a", "5", "PS"),
        ],
        "person_key",
    )
    clusters = frame(
        [("a", "1", "m"), ("a", "2", "m"), ("a", "3", "s1"), ("a", "4", "s1"), ("a", "5", "s2")],
        "cluster_id",
    )
    result = assign_keys(clusters, previous, key_age={"POLD": (1,), "PNEW": (2,), "PS": (1,)})
    by_record = dict(zip(result.records["record_id"], result.records["person_key"], strict=True))
    assert by_record["1"] == by_record["2"] == "POLD"
    assert result.merged == {"PNEW": "POLD"}
    assert by_record["3"] == by_record["4"] == "PS"
    assert by_record["5"] not in {"PS", "POLD", "PNEW"} and by_record["5"].startswith("P")
    events = {(e["event"], e["person_key"], e["other_key"]) for e in result.events}
    assert events == {("merge", "PNEW", "POLD"), ("split", "PS", by_record["5"])}
