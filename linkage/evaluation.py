"""How good a linkage is, against a ground truth of which record belongs to which person."""

from __future__ import annotations

import pandas as pd


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def score(clusters: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float | int]:
    """Pairwise precision, recall and F1, plus the share of people whose cluster is exact.

    `clusters` has source, record_id, cluster_id; `truth` has source, record_id, person_id.
    Records missing from either side are left out.
    """
    joined = clusters.merge(truth, on=["source", "record_id"], how="inner")
    predicted = _pairs(joined.groupby("cluster_id").size())
    actual = _pairs(joined.groupby("person_id").size())
    correct = _pairs(joined.groupby(["cluster_id", "person_id"]).size())
    precision = correct / predicted if predicted else 1.0
    recall = correct / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # A person is exactly found when one cluster holds all their records and nobody else's.
    per_cluster = joined.groupby("cluster_id")["person_id"].nunique()
    per_person = joined.groupby("person_id")["cluster_id"].nunique()
    pure = joined[joined["cluster_id"].map(per_cluster) == 1]
    exact = pure[pure["person_id"].map(per_person) == 1]["person_id"].nunique()
    people = joined["person_id"].nunique()
    return {
        "records_evaluated": len(joined),
        "people": people,
        "true_pairs": actual,
        "predicted_pairs": predicted,
        "correct_pairs": correct,
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "exact_cluster_share": round(exact / people, 5) if people else 1.0,
    }
