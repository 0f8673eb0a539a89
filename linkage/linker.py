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
from linkage.inputs import LINK_TYPES, ColumnMapping, MappingError, TableInput, load_table
from linkage.records import collapse
from linkage.standardise import empty_shares, identifier_fields, standardise

log = logging.getLogger(__name__)

# The columns splink compares: the model's person fields (one owner), keyed and flagged.
COMPARISON_COLUMNS = ["unique_id", *model.PERSON_FIELDS, "nhs_number_valid"]

DEFAULT_LINK_THRESHOLD = 0.9
DEFAULT_REVIEW_BAND = (0.5, 0.9)
# A field with more than this share of records empty after standardisation is reported.
MOSTLY_EMPTY = 0.5

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


def splink_tables(records: pd.DataFrame, chosen: model.Plan) -> list[pa.Table]:
    """The records as splink reads them: compared columns and the plan's block columns, one
    table per source when linking (link_only, link_and_dedupe), else one."""
    columns = [*COMPARISON_COLUMNS, *chosen.identifiers]
    if not records["unique_id"].is_monotonic_increasing:
        records = records.sort_values("unique_id")
    whole = pa.Table.from_pandas(records[columns], preserve_index=False)
    # The plan's block columns are in unique_id order, as the records now are.
    for name in chosen.block_keys.column_names:
        whole = whole.append_column(name, chosen.block_keys[name])
    if chosen.link_type == "dedupe_only":
        return [whole]
    sources = records["source"].to_numpy()
    return [whole.filter(pa.array(sources == s)) for s in sorted(set(sources))]


def score_pairs(
    records: pd.DataFrame,
    backend: model.Backend = "duckdb",
    min_probability: float = DEFAULT_REVIEW_BAND[0],
    database_url: str | None = None,
    seed: int = 42,
    link_type: str = "dedupe_only",
) -> tuple[pd.DataFrame, int, dict, dict]:
    """Train splink on the records and score the blocked pairs.

    Returns the pairs at or above `min_probability` (with gamma columns), the number of pairs
    compared, the trained model, and timings and what the model was built from.
    """
    timings: dict = {}
    identifiers = identifier_fields(records.columns)
    nhs_pairs = int((records["nhs_number"].value_counts() - 1).clip(lower=0).sum())
    started = time.perf_counter()
    chosen = model.plan(records, identifiers, link_type=link_type, nhs_pairs=nhs_pairs)
    timings["seconds_plan"] = time.perf_counter() - started
    db_api, work = _splink_api(backend, database_url)
    try:
        started = time.perf_counter()
        tables = splink_tables(records, chosen)
        frames = [
            db_api.register(t) if backend == "duckdb" else db_api.register(t.to_pandas())
            for t in tables
        ]
        linker = Linker(
            frames if len(frames) > 1 else frames[0],
            model.settings(backend, chosen),
            log_level=logging.WARNING,
        )
        u_pairs = min(1e6, max(1e5, len(records) ** 2 / 10))  # as splink's own examples
        prior = model.train(linker, chosen, len(records), seed=seed, u_pairs=u_pairs)
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
        return kept, int(compared), trained, {**timings, **prior, **chosen.describe()}
    finally:
        _drop_work_schema(work)


# Given names that differ by more than an ordinary typo, nickname or swap.
_GIVEN_DISAGREE = """(
    l.given_name <> r.given_name
    and coalesce(l.given_name_canonical <> r.given_name_canonical, true)
    and jaro_winkler_similarity(l.given_name, r.given_name) < {similarity}
    and levenshtein(l.given_name, r.given_name) > 1
    and not coalesce(l.given_name = r.family_name and r.given_name = l.family_name, false)
)"""
# Born apart: more than a typo, a day/month transposition, a year mistyped or a few days
# off; siblings are born at least this many days apart (twins are caught by their names).
_BORN_APART = """(
    levenshtein(l.date_of_birth, r.date_of_birth) > 1
    and not (
        substr(l.date_of_birth, 1, 4) = substr(r.date_of_birth, 1, 4)
        and substr(l.date_of_birth, 6, 2) = substr(r.date_of_birth, 9, 2)
        and substr(l.date_of_birth, 9, 2) = substr(r.date_of_birth, 6, 2)
    )
    and not (
        substr(l.date_of_birth, 6, 5) = substr(r.date_of_birth, 6, 5)
        and abs(try_cast(substr(l.date_of_birth, 1, 4) as integer)
            - try_cast(substr(r.date_of_birth, 1, 4) as integer)) <= 1
    )
    and abs(date_diff(
        'day', try_cast(l.date_of_birth as date), try_cast(r.date_of_birth as date)
    )) > {days}
)"""


@dataclass(frozen=True)
class TwinsGuard:
    """Twins and namesakes share a household: the same family name and address (or
    postcode), and either different given names (twins, siblings) or the same name born
    apart (a parent and child, or siblings given one name). That shared evidence can
    outweigh the one clear disagreement, so such a pair is not linked automatically unless
    an identifier agrees (NHS number or any other): it goes to clerical review. Decided on
    the values, not on the model's weights, so that it holds however training went; a pair
    with no household in common, or with ordinary errors (one edit, a nickname, swapped
    names, a year mistyped or dates a few days apart), is left to the model.
    """

    enabled: bool = True
    given_name_similarity: float = 0.8  # Jaro-Winkler below which given names disagree
    born_apart_days: int = 270  # dates of birth further apart belong to different people

    def sql(self, identifiers: list[str]) -> str:
        same_id = " or ".join(
            f"coalesce(l.{c} = r.{c}, false)" for c in ["nhs_number", *identifiers]
        )
        return f"""
select
    coalesce(jaro_winkler_similarity(l.family_name, r.family_name) >= 0.92, false)
    and (coalesce(l.address = r.address, false) or coalesce(l.postcode = r.postcode, false))
    and (
        coalesce({_GIVEN_DISAGREE.format(similarity=float(self.given_name_similarity))}, false)
        or coalesce({_BORN_APART.format(days=int(self.born_apart_days))}, false)
    )
    and not ({same_id}) as held
from pairs as p
join records as l on l.unique_id = p.unique_id_l
join records as r on r.unique_id = p.unique_id_r
order by p.position
"""

    def held(self, scored: pd.DataFrame, records: pd.DataFrame) -> pd.Series:
        """Which scored pairs the guard holds back from automatic linking."""
        if scored.empty or not self.enabled:
            return pd.Series(False, index=scored.index, dtype=bool)
        import duckdb

        identifiers = identifier_fields(records.columns)
        pairs = scored[["unique_id_l", "unique_id_r"]].assign(position=range(len(scored)))
        con = duckdb.connect()
        try:
            con.register("pairs", pairs)
            con.register("records", records[[*COMPARISON_COLUMNS, *identifiers]])
            flags = con.execute(self.sql(identifiers)).df()
        finally:
            con.close()
        return pd.Series(flags["held"].fillna(False).astype(bool).to_numpy(), index=scored.index)


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
    date_format: str | list[str] | None = None,
    postcode_format: str = "auto",
    link_type: str = "dedupe_only",
    twins_guard: bool | dict | TwinsGuard = True,
    mapped_fields: Iterable[str] | None = None,
    seed: int = 42,
) -> LinkResult:
    """Link records already in the standard fields, one row per (source, record_id).

    Further identifiers come as `id_*` columns. `link_type`: dedupe_only (every pair),
    link_only (only pairs from different sources) or link_and_dedupe. `mapped_fields`: the
    fields the user supplied, reported when mostly empty (default: every field with a value).
    """
    started = time.perf_counter()
    if link_type not in LINK_TYPES:
        raise ValueError(f"link_type {link_type!r} is not one of {', '.join(LINK_TYPES)}")
    if isinstance(twins_guard, TwinsGuard):
        guard = twins_guard
    elif isinstance(twins_guard, dict):
        guard = TwinsGuard(**twins_guard)
    else:
        guard = TwinsGuard(bool(twins_guard))
    supplied = (
        list(mapped_fields)
        if mapped_fields is not None
        else [c for c in raw.columns if c not in ("source", "record_id") and raw[c].notna().any()]
    )
    records = standardise(
        raw, date_format=date_format, postcode_format=postcode_format
    ).reset_index(drop=True)
    if link_type != "dedupe_only" and records["source"].nunique() < 2:
        if link_type == "link_only":
            raise ValueError("link_type 'link_only' needs records from at least two sources")
        link_type = "dedupe_only"  # one source: linking and deduplicating is deduplicating
    empty = empty_shares(records, supplied)
    mostly_empty = {f: share for f, share in empty.items() if share > MOSTLY_EMPTY}
    for name, share in mostly_empty.items():
        log.warning("field %s is %.0f%% empty after standardisation", name, 100 * share)
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
            records, backend, low, database_url=database_url, seed=seed, link_type=link_type
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
    scored = scored.assign(method="probabilistic", held=guard.held(scored, records))
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
        "guard_held_pairs": int(
            (scored["held"] & (scored["match_probability"] >= link_threshold)).sum()
        ),
        "twins_guard": guard.enabled,
        "fields_mostly_empty": mostly_empty,
        "empty_share": empty,
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
    cannot_link ((source, record_id) pairs), database_url (postgres backend), link_type,
    twins_guard, seed. `link_type` and `twins_guard` may also come from the mapping; by
    default one table is deduplicated and several are linked (link_only).
    Rows sharing a (source, record_id) are collapsed into one record first.
    """
    mappings = list(mapping) if isinstance(mapping, list | tuple) else [mapping] * len(tables)
    if len(mappings) != len(tables):
        raise ValueError(f"{len(tables)} tables but {len(mappings)} mappings")
    parsed = [m if isinstance(m, ColumnMapping) else ColumnMapping.from_dict(m) for m in mappings]
    for key in ("link_type", "twins_guard"):
        declared = [getattr(m, key) for m in parsed if getattr(m, key) is not None]
        if any(d != declared[0] for d in declared):
            raise MappingError(f"mapping key '{key}': the mappings disagree ({declared})")
        if declared and key not in options:
            options[key] = declared[0]
    options.setdefault("link_type", "dedupe_only" if len(tables) == 1 else "link_only")
    identifiers = [set(m.identifiers) for m in parsed]
    if any(i != identifiers[0] for i in identifiers):
        raise MappingError(
            "mapping key 'identifiers': every table needs the same identifiers "
            f"(got {[sorted(i) for i in identifiers]})"
        )
    # Each table's dates and postcodes are standardised by its own declared format on loading.
    frames = [load_table(t, m, i + 1) for i, (t, m) in enumerate(zip(tables, parsed, strict=True))]
    rows = pd.concat(frames, ignore_index=True)
    mapped = list(dict.fromkeys(f for m in parsed for f in m.mapped_fields()))
    return link_records(
        collapse(rows),
        date_format="%Y-%m-%d",
        postcode_format="as_given",
        mapped_fields=mapped,
        **options,
    )
