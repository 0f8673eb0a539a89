"""Link the project's identity schema and write the linkage schema: one run of the jigsaw.

A run reads every body's person records from identity.person_records, applies reviewers'
decisions, links, keeps person keys stable against the previous run, and replaces
linkage.person_xref and the open clerical review pairs in one transaction.
"""

from __future__ import annotations

import json
import logging
import time

import pandas as pd

from jigsaw import schemas
from jigsaw.database import connect, resolve_database_url
from linkage import model, store
from linkage.keys import assign_keys
from linkage.linker import DEFAULT_LINK_THRESHOLD, DEFAULT_REVIEW_BAND, link_records
from linkage.records import collapse

log = logging.getLogger(__name__)

DEFAULT_BACKEND: model.Backend = "duckdb"  # measured faster: see benchmarks/bench_linkage.py


def read_person_records(conn) -> pd.DataFrame:
    """One row per linkage record (body, person_ref_token), clear values as standard fields."""
    if not store.table_exists(conn, schemas.IDENTITY, "person_records"):
        raise RuntimeError(
            "identity.person_records does not exist: load the bodies' deliveries first"
        )
    rows = store.read_frame(conn, store.PERSON_ROWS_SQL)
    return collapse(rows, recency="last_period", count="rows")


def _decision_pairs(decisions: pd.DataFrame, decision: str) -> list:
    chosen = decisions[decisions["decision"] == decision]
    return [
        ((r.body_l, r.person_ref_token_l), (r.body_r, r.person_ref_token_r))
        for r in chosen.itertuples(index=False)
    ]


def run_person_linkage(
    database_url: str | None = None,
    *,
    backend: model.Backend = DEFAULT_BACKEND,
    link_threshold: float = DEFAULT_LINK_THRESHOLD,
    review_band: tuple[float, float] = DEFAULT_REVIEW_BAND,
) -> dict:
    """Link identity.person_records into linkage.person_xref; returns the run's statistics.

    Runs one at a time per database: keys are mapped against the previous run's, so two
    runs interleaving their reads and writes could hand out keys twice.
    """
    url = database_url or resolve_database_url()
    with connect(url, autocommit=True) as lock:
        lock.execute("select pg_advisory_lock(hashtext('jigsaw:linkage-run'))")
        return _run(url, backend, link_threshold, review_band)


def _run(
    url: str, backend: model.Backend, link_threshold: float, review_band: tuple[float, float]
) -> dict:
    started = time.perf_counter()
    with connect(url) as conn:
        store.require_schema(conn)
        run_id = conn.execute(
            "insert into linkage.runs (backend) values (%s) returning run_id", (backend,)
        ).fetchone()[0]
        conn.commit()
        records = read_person_records(conn)
        decisions = store.read_decisions(conn)
        previous = store.read_frame(
            conn,
            "select body as source, person_ref_token as record_id, person_key "
            "from linkage.person_xref",
        )
        ages = store.read_frame(conn, "select person_key, created_run from linkage.person_keys")

    try:
        result = link_records(
            records,
            backend=backend,
            link_threshold=link_threshold,
            review_band=review_band,
            must_link=_decision_pairs(decisions, "match"),
            cannot_link=_decision_pairs(decisions, "non_match"),
            database_url=url,
        )
    except Exception:
        with connect(url) as conn:
            conn.execute(
                "update linkage.runs set finished_at = now(), status = 'failed' where run_id = %s",
                (run_id,),
            )
        raise
    assignment = assign_keys(
        result.records,
        previous,
        key_age={k: (r,) for k, r in zip(ages["person_key"], ages["created_run"], strict=True)},
        taken=set(ages["person_key"]),
    )
    xref = result.records[["source", "record_id", "method", "match_probability"]].merge(
        assignment.records[["source", "record_id", "person_key"]], on=["source", "record_id"]
    )
    xref = xref.rename(columns={"source": "body", "record_id": "person_ref_token"}).assign(
        run_id=run_id
    )
    key_of = {
        (s, r): k
        for s, r, k in zip(xref["body"], xref["person_ref_token"], xref["person_key"], strict=True)
    }
    decided = {
        store.ordered_pair((d.body_l, d.person_ref_token_l), (d.body_r, d.person_ref_token_r))
        for d in decisions.itertuples(index=False)
    }
    review = store.review_rows(result.review, key_of, run_id)
    if not review.empty:
        review = review[
            [
                ((a, b), (c, d)) not in decided
                for a, b, c, d in zip(
                    review["body_l"],
                    review["person_ref_token_l"],
                    review["body_r"],
                    review["person_ref_token_r"],
                    strict=True,
                )
            ]
        ]
    stats = {
        **result.stats,
        "run_id": run_id,
        "new_keys": len(assignment.new_keys),
        "merges": sum(e["event"] == "merge" for e in assignment.events),
        "splits": sum(e["event"] == "split" for e in assignment.events),
        "decisions_applied": len(decisions),
        "review_pairs_open": len(review),
    }
    with connect(url) as conn, conn.transaction():
        conn.execute("delete from linkage.person_xref")
        store.copy_rows(
            conn,
            "linkage.person_xref",
            ["body", "person_ref_token", "person_key", "method", "match_probability", "run_id"],
            xref,
        )
        store.copy_rows(
            conn,
            "linkage.person_keys",
            ["person_key", "created_run"],
            pd.DataFrame({"person_key": assignment.new_keys, "created_run": run_id}),
        )
        for retired, survivor in assignment.merged.items():
            conn.execute(
                "update linkage.person_keys set retired_run = %s, merged_into = %s "
                "where person_key = %s",
                (run_id, survivor, retired),
            )
        for vanished in assignment.vanished:
            conn.execute(
                "update linkage.person_keys set retired_run = %s where person_key = %s "
                "and retired_run is null",
                (run_id, vanished),
            )
        store.copy_rows(
            conn,
            "linkage.person_key_events",
            ["run_id", "event", "person_key", "other_key", "records"],
            pd.DataFrame(
                assignment.events, columns=["event", "person_key", "other_key", "records"]
            ).assign(run_id=run_id),
        )
        conn.execute("delete from linkage.clerical_review")
        store.copy_rows(
            conn,
            "linkage.clerical_review",
            [
                "body_l",
                "person_ref_token_l",
                "body_r",
                "person_ref_token_r",
                "match_probability",
                "match_weight",
                "evidence",
                "person_key_l",
                "person_key_r",
                "run_id",
            ],
            review,
        )
        conn.execute(
            "update linkage.review_decisions set applied_run = %s where applied_run is null",
            (run_id,),
        )
        stats["seconds_run"] = round(time.perf_counter() - started, 3)
        conn.execute(
            "update linkage.runs set finished_at = now(), status = 'succeeded', stats = %s "
            "where run_id = %s",
            (json.dumps(_jsonable(stats)), run_id),
        )
    log.info("linkage run %s: %s", run_id, stats)
    return stats


def _jsonable(stats: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.items()}
