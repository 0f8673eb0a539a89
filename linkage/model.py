"""The splink model of a person: comparisons, blocking rules and how it is trained.

Columns it expects (made by linkage.standardise): given_name, given_name_canonical,
family_name, date_of_birth (ISO text), sex, postcode, address, nhs_number.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.exceptions import EMTrainingException, SplinkException

log = logging.getLogger(__name__)

Backend = Literal["duckdb", "postgres"]


def _fuzzy(column: str, backend: Backend, strong: float, weak: float) -> list:
    """Close and loose string levels; PostgreSQL's fuzzystrmatch has no Jaro-Winkler."""
    if backend == "duckdb":
        return [cll.JaroWinklerLevel(column, strong), cll.JaroWinklerLevel(column, weak)]
    return [cll.LevenshteinLevel(column, 1), cll.LevenshteinLevel(column, 2)]


def _name(column: str, other: str, backend: Backend, canonical: str | None = None):
    close, loose = _fuzzy(column, backend, 0.92, 0.8)
    levels = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
    ]
    if canonical:
        levels.append(
            cll.CustomLevel(
                f"{canonical}_l = {canonical}_r", label_for_charts="same name after nicknames"
            )
        )
    levels += [
        close,
        cll.ColumnsReversedLevel(column, other).configure(label_for_charts="names swapped"),
        loose,
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(levels, output_column_name=column)


def _date_of_birth():
    return cl.CustomComparison(
        [
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            cll.CustomLevel(
                "substr(date_of_birth_l, 1, 4) = substr(date_of_birth_r, 1, 4) "
                "and substr(date_of_birth_l, 6, 2) = substr(date_of_birth_r, 9, 2) "
                "and substr(date_of_birth_l, 9, 2) = substr(date_of_birth_r, 6, 2)",
                label_for_charts="day and month transposed",
            ),
            cll.LevenshteinLevel("date_of_birth", 1),
            cll.CustomLevel(
                "substr(date_of_birth_l, 1, 4) = substr(date_of_birth_r, 1, 4)",
                label_for_charts="same year",
            ),
            cll.ElseLevel(),
        ],
        output_column_name="date_of_birth",
    )


def _location(backend: Backend):
    """Postcode and address as one comparison: they say the same thing twice, and counting
    both as independent evidence made household members look like one person."""
    similar = (
        "jaro_winkler_similarity(address_l, address_r) >= 0.9"
        if backend == "duckdb"
        else "levenshtein(address_l, address_r) <= 3"
    )
    sector = (
        "substr(postcode_l, 1, length(postcode_l) - 2) "
        "= substr(postcode_r, 1, length(postcode_r) - 2)"
    )
    levels = [
        ("address_l = address_r and postcode_l = postcode_r", "same address and postcode"),
        ("address_l = address_r", "same address, postcode differs or missing"),
        (f"postcode_l = postcode_r and {similar}", "same postcode, similar address"),
        ("postcode_l = postcode_r", "same postcode, other address"),
        (similar, "similar address"),
        (sector, "same postcode sector"),
    ]
    missing = cll.CustomLevel(
        "(address_l is null or address_r is null) and (postcode_l is null or postcode_r is null)",
        label_for_charts="missing",
    ).configure(is_null_level=True)
    return cl.CustomComparison(
        [
            missing,
            *(cll.CustomLevel(sql, label_for_charts=label) for sql, label in levels),
            cll.ElseLevel(),
        ],
        output_column_name="location",
    )


def _nhs_number():
    return cl.CustomComparison(
        [
            cll.NullLevel("nhs_number"),
            cll.ExactMatchLevel("nhs_number"),
            cll.LevenshteinLevel("nhs_number", 2).configure(label_for_charts="mistyped"),
            cll.ElseLevel(),
        ],
        output_column_name="nhs_number",
    )


# Each rule must be cheap (small blocks) and together they must reach nearly every true pair;
# a pair is compared once however many rules admit it.
PREDICTION_RULES = [
    block_on("nhs_number"),
    block_on("date_of_birth"),
    block_on("given_name_canonical", "family_name"),
    block_on("postcode", "family_name"),
    block_on("postcode", "given_name_canonical"),
]

# Strict rules whose matches are almost all true; they estimate the prior match rate.
DETERMINISTIC_RULES = [
    block_on("nhs_number_valid"),
    block_on("given_name", "family_name", "date_of_birth", "postcode"),
]

# Pairs sharing an NHS number are nearly all true matches, so they teach how often a true
# match disagrees on names or date of birth; blocking on names instead would let same-named
# parents and children teach that dates of birth often differ.
TRAINING_RULES_WITH_NHS = [block_on("nhs_number"), block_on("date_of_birth")]
TRAINING_RULES = [block_on("date_of_birth"), block_on("given_name_canonical", "family_name")]


def settings(backend: Backend = "duckdb") -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _name("given_name", "family_name", backend, canonical="given_name_canonical"),
            _name("family_name", "given_name", backend),
            _date_of_birth(),
            cl.ExactMatch("sex"),
            _location(backend),
            _nhs_number(),
        ],
        blocking_rules_to_generate_predictions=PREDICTION_RULES,
        retain_intermediate_calculation_columns=True,  # mw_<comparison>: evidence for review
        retain_matching_columns=False,
    )


def train(linker: Linker, seed: int = 42, u_pairs: float = 2e6, nhs_pairs: int = 0) -> None:
    """Estimate the prior, then u by random sampling and m by EM (parameters, not guesses).

    `nhs_pairs`: how many pairs share an NHS number; enough of them and EM learns from them.
    """
    try:
        linker.training.estimate_probability_two_random_records_match(
            DETERMINISTIC_RULES, recall=0.7
        )
    except (SplinkException, ZeroDivisionError) as exc:
        log.warning("prior not estimated (%s); splink's default is used", exc)
    settings_obj = linker._settings_obj  # no public setter; a prior of 0 or 1 breaks predict
    prior = settings_obj._probability_two_random_records_match
    settings_obj._probability_two_random_records_match = min(max(prior, 1e-7), 0.5)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    for rule in TRAINING_RULES_WITH_NHS if nhs_pairs >= 200 else TRAINING_RULES:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        except EMTrainingException as exc:
            # Small inputs may have no pairs in a training block; the other rule, or
            # splink's default m values, stand in.
            log.warning("EM skipped: %s", str(exc).splitlines()[0])


def level_weights(model: dict) -> dict[str, list[tuple[float | None, str]]]:
    """(match weight, label) of each level per comparison, in order, from a saved model.

    The first entry is the null level (weight 0), the last the else level; a level whose
    m or u could not be estimated has weight None. Splink 5 outputs a pair's weight per
    comparison (mw_<name>) rather than its level; the level is the one whose weight is
    nearest, which is how a reviewer reads the evidence.
    """
    weights: dict[str, list[tuple[float | None, str]]] = {}
    for comparison in model.get("comparisons", []):
        levels: list[tuple[float | None, str]] = []
        for level in comparison["comparison_levels"]:
            label = level.get("label_for_charts") or level["sql_condition"]
            if level.get("is_null_level"):
                levels.append((0.0, "missing"))
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            levels.append((math.log2(m / u) if m and u else None, label))
        weights[comparison["output_column_name"]] = levels
    return weights


def describe_weight(levels: list[tuple[float | None, str]], weight: float) -> str:
    known = [level for level in levels if level[0] is not None]
    if not known:
        return ""
    return min(known, key=lambda level: abs(level[0] - weight))[1]
