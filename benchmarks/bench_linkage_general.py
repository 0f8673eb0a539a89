"""The project's linker against plain splink 5 on data shaped unlike the demo region.

For each evaluation set (benchmarks/linkage_sets.py: German conventions over two tables,
a heavily mistyped one-table register, two case lists without postcodes) both are run on
the same input tables, each in a fresh process so that peak memory is its own:

- the project: ``link_tables(tables, mapping)`` with the mapping a user would write and
  every default (threshold 0.9);
- plain splink, set up as its documentation does out of the box: NameComparison on the
  names, Levenshtein on date of birth, address and identifiers, exact postcode; blocking on
  each name, date of birth and postcode; prior from exact name and date of birth (recall
  0.7), u by random sampling, EM on two rules, links at match probability 0.5. Its input is
  the same columns, trimmed and lower-cased (addresses joined), nothing else.

Prints precision, recall, F1, seconds and peak memory side by side and ends with one JSON
line: per set name, project_f1, splink_f1, project_seconds, splink_seconds.

``python -m benchmarks linkage-general`` compares on every set. ``python -m benchmarks
linkage-general --scale 100000 300000 1000000`` instead times the project alone on the
continental set at about those many records (the scaling curve: seconds, peak memory, pairs
compared and per record, precision, recall and F1 against the generator's truth, every
default setting), ending with one JSON line of those rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from benchmarks.linkage_sets import SETS, EvaluationSet, make_set

DEFAULT_PEOPLE = 5000


def _quiet() -> None:
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("splink").setLevel(logging.ERROR)
    logging.getLogger("linkage").setLevel(logging.ERROR)


def _column_values(frame: pd.DataFrame, columns) -> pd.Series:
    columns = [columns] if isinstance(columns, str) else list(columns)
    parts = frame[columns].astype("string").fillna("")
    joined = parts.apply(lambda row: " ".join(v for v in row if v), axis=1)
    cleaned = joined.str.strip().str.lower()
    return cleaned.where(cleaned != "", None).astype(object)


def plain_input(evaluation: EvaluationSet) -> tuple[list[pd.DataFrame], list[str]]:
    """Each table in plain splink's columns; and the identifier columns."""
    mapping = evaluation.mapping
    identifiers = mapping.get("identifiers") or []
    if isinstance(identifiers, str):
        identifiers = [identifiers]
    named = (
        {f"id_{k}": v for k, v in identifiers.items()}
        if isinstance(identifiers, dict)
        else {f"id_{i}": c for i, c in enumerate(identifiers, start=1)}
    )
    fields = {
        f: mapping[f]
        for f in ("given_name", "family_name", "date_of_birth", "postcode", "address")
        if mapping.get(f)
    }
    frames = []
    for table in evaluation.tables:
        out = pd.DataFrame(
            {
                "unique_id": table[mapping["source"]].astype(str)
                + ":"
                + table[mapping["record_id"]].astype(str)
            }
        )
        for field, columns in {**fields, **named}.items():
            out[field] = _column_values(table, columns)
        frames.append(out)
    return frames, list(named)


def run_plain_splink(evaluation: EvaluationSet) -> pd.DataFrame:
    """Plain splink 5, out of the box; clusters as source, record_id, cluster_id."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    frames, identifiers = plain_input(evaluation)
    present = set(frames[0].columns)
    comparisons = [cl.NameComparison(c) for c in ("given_name", "family_name") if c in present]
    comparisons += [
        cl.LevenshteinAtThresholds(c, [1, 2])
        for c in ("date_of_birth", "address", *identifiers)
        if c in present
    ]
    if "postcode" in present:
        comparisons.append(cl.ExactMatch("postcode"))
    blocking = [
        block_on(c)
        for c in ("given_name", "family_name", "date_of_birth", "postcode")
        if c in present
    ]
    settings = SettingsCreator(
        link_type=evaluation.link_type,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
    )
    db_api = DuckDBAPI()
    inputs = [db_api.register(f) for f in frames]
    linker = Linker(inputs if len(inputs) > 1 else inputs[0], settings)
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on("given_name", "family_name", "date_of_birth")], recall=0.7
        )
    except Exception as exc:  # noqa: BLE001 - a plain user's run carries on with the default
        logging.getLogger(__name__).warning("plain splink prior not estimated: %s", exc)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("given_name", "family_name"), block_on("date_of_birth")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.5
    ).as_pandas_dataframe()
    split = clusters["unique_id"].astype(str).str.split(":", n=1, expand=True)
    return pd.DataFrame(
        {"source": split[0], "record_id": split[1], "cluster_id": clusters["cluster_id"]}
    )


def run_project(evaluation: EvaluationSet) -> tuple[pd.DataFrame, dict]:
    from linkage import link_tables

    result = link_tables(evaluation.tables, evaluation.mapping)
    return result.clusters(), result.stats


def _measured(which: str, name: str, people: int, seed: int) -> dict:
    """In a fresh process: build the set, run one linker, score it."""
    from benchmarks.bench_linkage import PeakMemory
    from linkage.evaluation import score

    _quiet()
    evaluation = make_set(name, people, seed)
    stats: dict = {}
    with PeakMemory() as memory:
        started = time.perf_counter()
        if which == "project":
            clusters, stats = run_project(evaluation)
        else:
            clusters = run_plain_splink(evaluation)
        seconds = time.perf_counter() - started
    report = score(clusters, evaluation.truth)
    return dict(
        set=name,
        linker=which,
        records=evaluation.records,
        precision=report["precision"],
        recall=report["recall"],
        f1=report["f1"],
        seconds=round(seconds, 1),
        peak_mib=round(memory.mib),
        pairs=stats.get("pairs_compared"),
        seconds_plan=round(stats.get("seconds_plan", 0), 1) if stats else None,
        seconds_train=round(stats.get("seconds_train", 0), 1) if stats else None,
        seconds_predict=round(stats.get("seconds_predict", 0), 1) if stats else None,
        prior_source=stats.get("prior_source"),
    )


def _in_fresh_process(*args) -> dict:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_measured, *args).result()


def compare(names: list[str], people: int, seed: int) -> list[dict]:
    rows = []
    for name in names:
        for which in ("project", "splink"):
            rows.append(_in_fresh_process(which, name, people, seed))
            print(f"  {rows[-1]}", flush=True)
    return rows


SCALE_SET = "continental_link"


def _records_per_person(seed: int) -> float:
    return make_set(SCALE_SET, 2000, seed).records / 2000


def scale(sizes: list[int], seed: int) -> list[dict]:
    """The project alone on the continental set at about `sizes` records each."""
    per_person = _records_per_person(seed)
    rows = []
    for records in sizes:
        row = _in_fresh_process("project", SCALE_SET, round(records / per_person), seed)
        row["pairs_per_record"] = round(row["pairs"] / row["records"], 2)
        rows.append(row)
        print(f"  {row}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scale",
        type=int,
        nargs="+",
        help=f"time the project alone on the {SCALE_SET} set at about these many records "
        "instead of comparing on every set",
    )
    # `python -m benchmarks` passes only the options given after the topic's name.
    args = parser.parse_args(argv or [])
    if args.scale:
        print(f"linkage scale ({SCALE_SET}, project alone, every default), seed {args.seed}")
        rows = scale(args.scale, args.seed)
        print()
        print(pd.DataFrame(rows).to_string(index=False))
        keys = ("records", "seconds", "peak_mib", "pairs", "pairs_per_record")
        print(json.dumps([{k: r[k] for k in (*keys, "precision", "recall", "f1")} for r in rows]))
        return
    print(f"linkage on general data: {args.people:,} people per set, seed {args.seed}")
    rows = compare(args.sets, args.people, args.seed)
    table = pd.DataFrame(rows)
    side = table.pivot(index="set", columns="linker", values=["precision", "recall", "f1"])
    timing = table.pivot(index="set", columns="linker", values=["seconds", "peak_mib"])
    print()
    print(pd.concat([table.groupby("set")["records"].first(), side, timing], axis=1).to_string())
    figures = [
        {
            "name": name,
            "project_f1": float(side.loc[name, ("f1", "project")]),
            "splink_f1": float(side.loc[name, ("f1", "splink")]),
            "project_seconds": float(timing.loc[name, ("seconds", "project")]),
            "splink_seconds": float(timing.loc[name, ("seconds", "splink")]),
        }
        for name in args.sets
    ]
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
