"""Score the linkage in the database against the demo region's ground truth.

The ground truth names, for each body's clear local person id, the true person; the
linkage knows records by token, so the two meet in identity.person_records.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jigsaw import schemas
from jigsaw.database import connect, resolve_database_url
from jigsaw.paths import ground_truth_dir
from linkage import store
from linkage.evaluation import score

LINKED_RECORDS_SQL = """
select distinct x.body as source, x.person_ref_token as record_id, p.person_ref,
    x.person_key as cluster_id
from linkage.person_xref as x
join identity.person_records as p
    on p.body = x.body and p.person_ref_token = x.person_ref_token
"""


def truth_file() -> Path:
    return ground_truth_dir() / "person_records.csv"


def evaluate_database(database_url: str | None = None, truth_path: Path | None = None) -> dict:
    """Precision, recall, F1 (pairwise) and exact-cluster share; `available` False, with a
    reason, when there is no ground truth or no linkage yet."""
    path = truth_path or truth_file()
    if not path.exists():
        return {"available": False, "reason": f"no ground truth at {path}"}
    truth = pd.read_csv(path, dtype=str)
    with connect(database_url or resolve_database_url()) as conn:
        if not store.table_exists(conn, schemas.LINKAGE, "person_xref"):
            return {"available": False, "reason": "linkage.person_xref does not exist yet"}
        linked = store.read_frame(conn, LINKED_RECORDS_SQL)
    truth = truth.rename(columns={"body": "source"})[["source", "person_ref", "person_id"]]
    joined = linked.merge(truth, on=["source", "person_ref"], how="inner")
    # A token stands for one clear person_ref; the truth is keyed by the clear value.
    truth_by_token = joined[["source", "record_id", "person_id"]].drop_duplicates()
    report = score(linked[["source", "record_id", "cluster_id"]].drop_duplicates(), truth_by_token)
    return {"available": True, "truth_file": str(path), **report}
