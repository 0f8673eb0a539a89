"""The reusable linker: any set of person tables in, scored pairs and clusters out.

Order of evidence: a reviewer's decision, then the deterministic rule (the same valid NHS
number), then splink's trained model. Clustering takes the strongest links first and never
puts two valid NHS numbers or a reviewed non-match into one person.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
from splink import Linker

from linkage import model
from linkage.clustering import cluster
from linkage.inputs import ColumnMapping, TableInput, load_table
from linkage.records import collapse
from linkage.standardise import standardise

log = logging.getLogger(__name__)

COMPARISON_COLUMNS = [
    "unique_id",
    "given_name",
    "given_name_canonical",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
    "address",
    "nhs_number",
    "nhs_number_valid",
]

DEFAULT_LINK_THRESHOLD = 0.9
DEFAULT_REVIEW_BAND = (0.5, 0.9)

RecordRef = tuple[str, str]  # (source, record_id)


@dataclass
class LinkResult:
    """What a linkage run found.

    records: one row per record (source, record_id, standardised fields, cluster_id, method,
      match_probability). pairs: every scored pair at or above the review band's lower bound,
      plus deterministic and reviewed links, with `accepted` telling whether clustering used it.
    review: the uncertain pairs between different clusters, with evidence per field.
    """

    records: pd.DataFrame
    pairs: pd.DataFrame
    review: pd.DataFrame
    stats: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)

    def clusters(self) -> pd.DataFrame:
        return self.records[["source", "record_id", "cluster_id", "method", "match_probability"]]


def _splink_api(backend: model.Backend, database_url: str | None):
    if backend == "duckdb":
        from splink.backends.duckdb import DuckDBAPI

        return DuckDBAPI(), None
    import sqlalchemy as sa
    from splink.backends.postgres import PostgresAPI

    from jigsaw.database import resolve_database_url, sqlalchemy_url

    class OfflinePostgresAPI(PostgresAPI):
        """Splink's Postgres backend, registering tables by COPY: its own way first downloads
        DuckDB's postgres extension from the internet, which we do not allow."""

        def _table_registration(self, input, table_name):
            from splink.internals.misc import to_pyarrow_if_list_tuple_or_dict

            from linkage.store import copy_rows

            frame = to_pyarrow_if_list_tuple_or_dict(input)
            if not isinstance(frame, pd.DataFrame):
                frame = frame.to_pandas()
            columns = ", ".join(f'"{c}" {_postgres_type(frame[c])}' for c in frame.columns)
            qualified = f'"{self._db_schema}"."{table_name}"'
            raw = self._engine.raw_connection()
            try:
                conn = raw.driver_connection
                conn.execute(f"drop table if exists {qualified}")
                conn.execute(f"create table {qualified} ({columns})")
                copy_rows(conn, qualified, [f'"{c}"' for c in frame.columns], frame)
                conn.commit()
            finally:
                raw.close()

    engine = sa.create_engine(sqlalchemy_url(database_url or resolve_database_url()))
    schema = f"splink_{uuid.uuid4().hex[:8]}"
    return OfflinePostgresAPI(engine, schema=schema), (engine, schema)


def _postgres_type(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column):
        return "boolean"
    if pd.api.types.is_integer_dtype(column):
        return "bigint"
    if pd.api.types.is_float_dtype(column):
        return "double precision"
    return "text"


def _drop_work_schema(work) -> None:
    if work is None:
        return
    import sqlalchemy as sa

    engine, schema = work
    with engine.begin() as conn:
        conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
    engine.dispose()


def score_pairs(
    records: pd.DataFrame,
    backend: model.Backend = "duckdb",
    min_probability: float = DEFAULT_REVIEW_BAND[0],
    database_url: str | None = None,
    seed: int = 42,
) -> tuple[pd.DataFrame, int, dict, dict]:
    """Train splink on the records and score the blocked pairs.

    Returns the pairs at or above `min_probability` (with gamma columns), the number of pairs
    compared, the trained model, and timings.
    """
    timings: dict[str, float] = {}
    db_api, work = _splink_api(backend, database_url)
    try:
        started = time.perf_counter()
        table = pa.Table.from_pandas(records[COMPARISON_COLUMNS], preserve_index=False)
        if backend == "duckdb":
            frame = db_api.register(table)
        else:
            frame = db_api.register(table.to_pandas())
        linker = Linker(frame, model.settings(backend), log_level=logging.WARNING)
        nhs_pairs = int((records["nhs_number"].value_counts() - 1).clip(lower=0).sum())
        u_pairs = min(2e6, max(1e5, len(records) ** 2 / 10))
        model.train(linker, seed=seed, u_pairs=u_pairs, nhs_pairs=nhs_pairs)
        timings["seconds_train"] = time.perf_counter() - started
        started = time.perf_counter()
        predicted = linker.inference.predict()
        compared = linker.misc.query_sql(
            f"select count(*) as n from {predicted.physical_name}", output_type="pandas"
        )["n"].iloc[0]
        trained = linker.misc.save_model_to_json()
        weights = [f"mw_{c}" for c in model.level_weights(trained)]
        kept = linker.misc.query_sql(
            "select unique_id_l, unique_id_r, match_probability, match_weight, "
            f"{', '.join(weights)} from {predicted.physical_name} "
            f"where match_probability >= {float(min_probability)}",
            output_type="pandas",
        )
        timings["seconds_predict"] = time.perf_counter() - started
        return kept, int(compared), trained, timings
    finally:
        _drop_work_schema(work)


HELD_SQL = """
select
    (
        l.given_name <> r.given_name
        and coalesce(l.given_name_canonical <> r.given_name_canonical, true)
        and jaro_winkler_similarity(l.given_name, r.given_name) < 0.8
        and coalesce(l.given_name <> r.family_name, true)
        and coalesce(r.given_name <> l.family_name, true)
    )
    or (
        l.date_of_birth <> r.date_of_birth
        and not (
            substr(l.date_of_birth, 1, 4) = substr(r.date_of_birth, 1, 4)
            and substr(l.date_of_birth, 6, 2) = substr(r.date_of_birth, 9, 2)
            and substr(l.date_of_birth, 9, 2) = substr(r.date_of_birth, 6, 2)
        )
        and levenshtein(l.date_of_birth, r.date_of_birth) > 1
    ) as disagree,
    coalesce(l.nhs_number = r.nhs_number, false) as same_nhs
from pairs as p
join records as l on l.unique_id = p.unique_id_l
join records as r on r.unique_id = p.unique_id_r
order by p.position
"""


def _held_for_review(scored: pd.DataFrame, records: pd.DataFrame) -> pd.Series:
    """Pairs that disagree outright on given name or date of birth, without the same NHS number.

    Twins share a family name, a date of birth and an address; a parent and child may share
    names and an address. Together that evidence outweighs one clear disagreement, so such
    pairs are not linked automatically: they go to clerical review (or wait for an NHS number).
    Decided on the values, not on the model's weights, so that it holds however training went.
    """
    if scored.empty:
        return pd.Series(False, index=scored.index)
    import duckdb

    pairs = scored[["unique_id_l", "unique_id_r"]].assign(position=range(len(scored)))
    con = duckdb.connect()
    try:
        con.register("pairs", pairs)
        con.register("records", records[COMPARISON_COLUMNS])
        flags = con.execute(HELD_SQL).df()
    finally:
        con.close()
    held = flags["disagree"].fillna(False).astype(bool) & ~flags["same_nhs"].astype(bool)
    return pd.Series(held.to_numpy(), index=scored.index)


def _nhs_edges(records: pd.DataFrame) -> list[tuple[int, int]]:
    edges = []
    valid = records.loc[records["nhs_number_valid"].notna(), ["unique_id", "nhs_number_valid"]]
    for _, ids in valid.groupby("nhs_number_valid")["unique_id"]:
        first, *rest = ids.tolist()
        edges += [(first, other) for other in rest]
    return edges


def _evidence(pairs: pd.DataFrame, levels: dict[str, list[tuple[float | None, str]]]) -> list[dict]:
    """Per field: the level the pair fell in and its match weight (log2 Bayes factor)."""
    columns = [c for c in levels if f"mw_{c}" in pairs.columns]
    return [
        {
            c: {"level": model.describe_weight(levels[c], w), "weight": round(float(w), 2)}
            for c, w in ((c, row[f"mw_{c}"]) for c in columns)
        }
        for _, row in pairs.iterrows()
    ]


def link_records(
    raw: pd.DataFrame,
    *,
    backend: model.Backend = "duckdb",
    link_threshold: float = DEFAULT_LINK_THRESHOLD,
    review_band: tuple[float, float] = DEFAULT_REVIEW_BAND,
    must_link: Iterable[tuple[RecordRef, RecordRef]] = (),
    cannot_link: Iterable[tuple[RecordRef, RecordRef]] = (),
    database_url: str | None = None,
    date_format: str | None = None,
    seed: int = 42,
) -> LinkResult:
    """Link records already in the standard fields, one row per (source, record_id)."""
    started = time.perf_counter()
    records = standardise(raw, date_format=date_format).reset_index(drop=True)
    records["unique_id"] = range(len(records))
    index = {
        (s, r): i
        for i, (s, r) in enumerate(zip(records["source"], records["record_id"], strict=True))
    }

    def resolve(pairs) -> list[tuple[int, int]]:
        return [(index[a], index[b]) for a, b in pairs if a in index and b in index]

    must, apart = resolve(must_link), resolve(cannot_link)
    apart_set = {frozenset(p) for p in apart}
    nhs = [e for e in _nhs_edges(records) if frozenset(e) not in apart_set]

    low = min(review_band[0], link_threshold)
    if len(records) >= 2:
        scored, compared, trained, timings = score_pairs(
            records, backend, low, database_url=database_url, seed=seed
        )
    else:
        scored, compared, trained, timings = (
            pd.DataFrame(
                columns=["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
            ),
            0,
            {},
            {},
        )
    levels = model.level_weights(trained) if trained else {}
    scored = scored.assign(method="probabilistic", held=_held_for_review(scored, records))
    decided = pd.DataFrame(must, columns=["unique_id_l", "unique_id_r"]).assign(
        match_probability=1.0, method="clerical"
    )
    deterministic = pd.DataFrame(nhs, columns=["unique_id_l", "unique_id_r"]).assign(
        match_probability=1.0, method="nhs_number"
    )
    pairs = pd.concat([decided, deterministic, scored], ignore_index=True)
    pairs["unique_id_l"] = pairs["unique_id_l"].astype(int)
    pairs["unique_id_r"] = pairs["unique_id_r"].astype(int)
    if apart_set:
        pairs = pairs[
            [
                frozenset(p) not in apart_set
                for p in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
            ]
        ]
    pairs["held"] = pairs["held"].astype("boolean").fillna(False).astype(bool)

    strength = {"clerical": 3.0, "nhs_number": 2.0}
    edges = [
        (int(a), int(b), strength.get(m, p))
        for a, b, p, m, h in zip(
            pairs["unique_id_l"],
            pairs["unique_id_r"],
            pairs["match_probability"],
            pairs["method"],
            pairs["held"],
            strict=True,
        )
        if m != "probabilistic" or (p >= link_threshold and not h)
    ]
    roots, accepted = cluster(len(records), edges, records["nhs_number_valid"].tolist(), apart)
    pairs["accepted"] = pd.Series(
        [
            (a, b) in accepted
            for a, b in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
        ],
        index=pairs.index,
        dtype=bool,
    )

    records["cluster_id"] = [f"C{r}" for r in roots]
    method, probability = _record_methods(len(records), pairs[pairs["accepted"]])
    records["method"] = method
    records["match_probability"] = probability

    uncertain = pairs[
        (pairs["method"] == "probabilistic")
        & (pairs["match_probability"] >= review_band[0])
        & ((pairs["match_probability"] < review_band[1]) | pairs["held"])
    ]
    uncertain = uncertain[
        pd.Series(
            [
                roots[a] != roots[b]
                for a, b in zip(uncertain["unique_id_l"], uncertain["unique_id_r"], strict=True)
            ],
            index=uncertain.index,
            dtype=bool,
        )
    ]
    review = _with_refs(uncertain, records).assign(evidence=_evidence(uncertain, levels))
    review = review[
        [
            "source_l",
            "record_id_l",
            "source_r",
            "record_id_r",
            "match_probability",
            "match_weight",
            "evidence",
        ]
    ]
    stats = {
        "records": len(records),
        "pairs_compared": compared,
        "pairs_scored_above_review_floor": int((pairs["method"] == "probabilistic").sum()),
        "links_accepted": int(pairs["accepted"].sum()),
        "deterministic_links": len(nhs),
        "clusters": len(set(roots)),
        "review_pairs": len(review),
        "backend": backend,
        **timings,
        "seconds_total": time.perf_counter() - started,
    }
    return LinkResult(
        records, _with_refs(pairs, records), review.reset_index(drop=True), stats, trained
    )


def _with_refs(pairs: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    source, record_id = records["source"].to_numpy(), records["record_id"].to_numpy()
    left, right = pairs["unique_id_l"].to_numpy(dtype=int), pairs["unique_id_r"].to_numpy(dtype=int)
    return pairs.assign(
        source_l=source[left],
        record_id_l=record_id[left],
        source_r=source[right],
        record_id_r=record_id[right],
    )


def _record_methods(size: int, accepted: pd.DataFrame) -> tuple[list[str], list[float | None]]:
    rank = {"clerical": 3, "nhs_number": 2, "probabilistic": 1}
    method: list[str] = ["singleton"] * size
    probability: list[float | None] = [None] * size
    for a, b, p, m in zip(
        accepted["unique_id_l"],
        accepted["unique_id_r"],
        accepted["match_probability"],
        accepted["method"],
        strict=True,
    ):
        for i in (int(a), int(b)):
            if rank[m] > rank.get(method[i], 0) or (
                m == method[i] and (probability[i] is None or p > probability[i])
            ):
                method[i], probability[i] = m, float(p)
    return method, probability


def link_tables(
    tables: Sequence[TableInput],
    mapping: dict | ColumnMapping | Sequence[dict | ColumnMapping],
    **options,
) -> LinkResult:
    """Link the person records of any tables, given a column mapping.

    `tables`: pandas DataFrames, (database URL, "schema.table") pairs or CSV paths.
    `mapping`: one mapping for all tables, or one per table (see linkage.inputs).
    Options: backend ("duckdb" or "postgres"), link_threshold, review_band, must_link,
    cannot_link ((source, record_id) pairs), database_url (postgres backend), seed.
    Rows sharing a (source, record_id) are collapsed into one record first.
    """
    mappings = list(mapping) if isinstance(mapping, list | tuple) else [mapping] * len(tables)
    if len(mappings) != len(tables):
        raise ValueError(f"{len(tables)} tables but {len(mappings)} mappings")
    parsed = [m if isinstance(m, ColumnMapping) else ColumnMapping.from_dict(m) for m in mappings]
    frames = [load_table(t, m, i + 1) for i, (t, m) in enumerate(zip(tables, parsed, strict=True))]
    rows = pd.concat(frames, ignore_index=True)
    formats = {m.date_format for m in parsed}
    date_format = formats.pop() if len(formats) == 1 else None
    if date_format is None and len(formats) > 1:
        # Different formats per table: standardise each table's dates before collapsing.
        from linkage.standardise import standard_date

        rows["date_of_birth"] = pd.concat(
            [
                f["date_of_birth"].map(lambda v, m=m: standard_date(v, m.date_format))
                for f, m in zip(frames, parsed, strict=True)
            ],
            ignore_index=True,
        )
    return link_records(collapse(rows), date_format=date_format, **options)
