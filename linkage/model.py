"""The splink model of a person: comparisons, blocking rules and how it is trained.

Columns it expects (made by linkage.standardise): given_name, given_name_canonical,
family_name, date_of_birth (ISO text), sex, postcode, address, nhs_number, and any further
identifiers (id_*). `plan` chooses, from the fields that are populated, what is compared,
blocked on and trained on; `settings` and `train` carry the plan out.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.exceptions import EMTrainingException, SplinkException

from linkage.standardise import STANDARD_FIELDS

log = logging.getLogger(__name__)

Backend = Literal["duckdb", "postgres"]

# The standard person fields the model can compare (made by linkage.standardise), each given
# name followed by its canonical form (the order of splink's columns); further identifiers
# (id_*) come on top.
PERSON_FIELDS = tuple(
    column
    for field in STANDARD_FIELDS
    for column in ((field, "given_name_canonical") if field == "given_name" else (field,))
)


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


def _identifier(column: str):
    """A further identifier (membership, case number...): exact with term frequencies, then
    one or two characters mistyped."""
    return cl.CustomComparison(
        [
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
            cll.LevenshteinLevel(column, 1).configure(label_for_charts="one character off"),
            cll.LevenshteinLevel(column, 2).configure(label_for_charts="two characters off"),
            cll.ElseLevel(),
        ],
        output_column_name=column,
    )


# A field takes part in the model when at least this share of records has a value: a
# comparison or blocking rule on an (almost) empty column only adds noise and cost.
MIN_POPULATED = 0.01

# Blocks are capped, not whole rules: a block (records equal on a rule's keys) of more than
# MAX_BLOCK records is split by the rule's narrowing keys in turn (a birth decade, an
# initial, a postcode area), and what is still bigger after all of them is left to the
# other rules. So each rule compares fewer than MAX_BLOCK / 2 pairs per record at any size,
# and pairs grow linearly with records at a fixed duplication rate, where a rule on a
# field of few values (a surname list, a date of birth) grows with the square; a rare
# surname's block is still compared whole. A rule whose blocks together hold at most
# RULE_FLOOR pairs (small inputs) is used uncapped.
MAX_BLOCK = 8
RULE_FLOOR = 50_000
# EM learns from at most this many pairs of a training block (splink samples records when
# the block is bigger), so that training costs about the same at any size.
EM_MAX_PAIRS = 1_000_000


@dataclass(frozen=True)
class Rule:
    """A blocking rule: equal on every key (column or SQL expression of one record)."""

    keys: tuple[str, ...]
    fields: tuple[str, ...]  # the fields it needs populated
    sql: str | None = None  # a cross-column rule (not a plain equi-join on one side's keys)

    def levels(self, present: set[str]) -> list[tuple[str, ...]]:
        """The rule's keys, then with each populated narrowing key that refines it added in
        turn (NARROWERS): the ever finer keys an oversized block is split by."""
        levels = [self.keys]
        for key, needs in NARROWERS:
            if needs in present and needs not in self.fields:
                levels.append((*levels[-1], key))
        return levels

    @property
    def name(self) -> str:
        return self.sql or " + ".join(self.keys)

    def creator(self):
        return self.sql if self.sql else block_on(*self.keys)


def _rule(*keys: str, fields: tuple[str, ...] | None = None) -> Rule:
    return Rule(keys, fields or keys)


_GIVEN_INITIAL = "substr(given_name_canonical, 1, 1)"
_FAMILY_INITIAL = "substr(family_name, 1, 1)"
_BIRTH_YEAR = "substr(date_of_birth, 1, 4)"
# Keys that split an oversized block, tried in order: each one that is populated and refines
# a field the rule does not already use (key, field it reads).
NARROWERS = (
    ("substr(date_of_birth, 1, 3)", "date_of_birth"),  # decade of birth
    (_GIVEN_INITIAL, "given_name_canonical"),
    (_FAMILY_INITIAL, "family_name"),
    ("substr(postcode, 1, 2)", "postcode"),  # postcode area
)

# Candidate prediction rules, most specific first; each is kept when its fields are
# populated, its blocks capped at MAX_BLOCK records. A pair is compared once however many
# rules admit it.
CANDIDATE_RULES = [
    _rule("nhs_number"),
    _rule("given_name_canonical", "family_name"),
    _rule("date_of_birth", _GIVEN_INITIAL, fields=("date_of_birth", "given_name_canonical")),
    _rule("date_of_birth", _FAMILY_INITIAL, fields=("date_of_birth", "family_name")),
    Rule(
        (),
        ("date_of_birth", "given_name", "family_name"),
        "l.date_of_birth = r.date_of_birth and l.given_name = r.family_name",
    ),
    _rule("postcode", "family_name"),
    _rule("postcode", "given_name_canonical"),
    _rule("postcode", "date_of_birth"),
    _rule("family_name", _BIRTH_YEAR, fields=("family_name", "date_of_birth")),
    _rule("given_name_canonical", _BIRTH_YEAR, fields=("given_name_canonical", "date_of_birth")),
    _rule("address", _GIVEN_INITIAL, fields=("address", "given_name_canonical")),
    _rule("address", _BIRTH_YEAR, fields=("address", "date_of_birth")),
    # Single fields: rare values compared whole, common ones split.
    _rule("family_name"),
    _rule("given_name_canonical"),
    _rule("postcode"),
]


@dataclass
class Blocking:
    """A rule as splink runs it: equality on a block column (`block_<n>`) holding each
    record's block under the rule, its key narrowed where the block was too big."""

    rule: Rule
    column: str | None  # None for a cross-column rule, run as its SQL
    pairs: int = 0  # pairs its blocks hold (within one table: an upper bound for linking)
    narrowed: float = 0.0  # share of keyed records whose block was split
    unblocked: float = 0.0  # share of keyed records left to other rules (too big when split)

    @property
    def name(self) -> str:
        return self.rule.name

    def creator(self):
        return self.rule.sql if self.column is None else block_on(self.column)


@dataclass
class Plan:
    """The model for one input: which fields it compares, blocks and trains on."""

    fields: list[str]  # populated standard fields and identifiers
    identifiers: list[str]
    rules: list[Blocking]
    training_rules: list[Rule]
    prior_rules: list[Rule]
    link_type: str = "dedupe_only"
    # Each record's block per rule (block_<n> columns), in the order of the records' unique_id.
    block_keys: pa.Table | None = None

    def describe(self) -> dict:
        return {
            "fields_used": self.fields,
            "blocking_rules": [r.name for r in self.rules],
            "blocking": {
                r.name: {
                    "pairs": r.pairs,
                    "narrowed": round(r.narrowed, 4),
                    "unblocked": round(r.unblocked, 4),
                }
                for r in self.rules
                if r.column
            },
            "max_block": MAX_BLOCK,
            "training_rules": [r.name for r in self.training_rules],
            "prior_rules": [r.name for r in self.prior_rules],
            "link_type": self.link_type,
        }


def _key(keys: tuple[str, ...]) -> str:
    """One text key for the values of `keys`, null when any is missing."""
    present = " and ".join(f"({k}) is not null" for k in keys)
    joined = ", ".join(f"cast(({k}) as varchar)" for k in keys)
    return f"case when {present} then concat_ws('|', {joined}) end"


def _pairs(con, table: str, column: str) -> int:
    return int(
        con.execute(
            f"select coalesce(sum(n * (n - 1) / 2), 0)::bigint from (select count(*) as n "
            f"from {table} where {column} is not null group by {column})"
        ).fetchone()[0]
    )


def _capped_block(
    con, rule: Rule, column: str, present: set[str], rule_floor: int
) -> tuple[Blocking, pa.ChunkedArray]:
    """The rule's block for each record (in unique_id order): its key, narrowed where a
    block is too big."""
    levels = rule.levels(present)
    keys = ", ".join(f"{_key(level)} as k{i}" for i, level in enumerate(levels))
    counts = ", ".join(f"count(*) over (partition by k{i}) as c{i}" for i in range(len(levels)))
    chosen = " ".join(f"when c{i} <= {MAX_BLOCK} then {i}" for i in range(len(levels)))
    con.execute(
        f"create temp table uncapped as select unique_id, {_key(rule.keys)} as k from people"
    )
    whole = _pairs(con, "uncapped", "k")
    if whole <= rule_floor:
        con.execute(
            "create temp table level as select unique_id, k as block, "
            "case when k is not null then 0 end as level from uncapped"
        )
    else:
        picks = " ".join(f"when level = {i} then k{i}" for i in range(len(levels)))
        con.execute(
            f"create temp table level as select unique_id, case {picks} end as block, level "
            f"from (select *, case when k0 is null then null {chosen} else -1 end as level "
            f"from (select unique_id, {counts}, * exclude (unique_id) "
            f"from (select unique_id, {keys} from people)))"
        )
    blocks = con.sql("select block from level order by unique_id").to_arrow_table()["block"]
    keyed, narrowed, unblocked = con.execute(
        "select count(level), count(*) filter (level > 0), count(*) filter (level = -1) from level"
    ).fetchone()
    pairs = _pairs(con, "level", "block")
    con.execute("drop table uncapped; drop table level")
    share = (lambda n: n / keyed) if keyed else (lambda n: 0.0)
    return Blocking(rule, column, pairs, share(narrowed), share(unblocked)), blocks


def plan(
    records: pd.DataFrame,
    identifiers: list[str],
    link_type: str = "dedupe_only",
    nhs_pairs: int = 0,
    rule_floor: int = RULE_FLOOR,
) -> Plan:
    """Choose comparisons, blocking, training and prior rules from the populated fields, and
    each record's block under every blocking rule. `records` need a unique_id; a rule
    holding at most `rule_floor` pairs is used uncapped."""
    import duckdb

    columns = [c for c in (*PERSON_FIELDS, *identifiers) if c in records.columns]
    shares = {c: float(records[c].notna().mean()) if len(records) else 0.0 for c in columns}
    fields = [c for c in columns if shares[c] >= MIN_POPULATED]
    present = set(fields)
    con = duckdb.connect()
    try:
        # Copied in once: each rule reads it several times, and a pandas frame is converted
        # on every read.
        con.register("records", records[["unique_id", *columns]])
        con.execute("create temp table people as select * from records")
        con.unregister("records")
        block_columns = {}
        candidates = [_rule(i) for i in identifiers if i in present] + CANDIDATE_RULES
        rules = []
        for candidate in candidates:
            if not set(candidate.fields) <= present:
                continue
            if candidate.sql:
                rules.append(Blocking(candidate, None))
            else:
                column = f"block_{len(rules) + 1}"
                blocking, block_columns[column] = _capped_block(
                    con, candidate, column, present, rule_floor
                )
                rules.append(blocking)
        block_keys = pa.table(block_columns) if block_columns else pa.table({})
        training = _training_rules(present, identifiers, nhs_pairs)
    finally:
        con.close()
    return Plan(
        fields,
        identifiers,
        rules,
        training,
        _prior_rules(present, identifiers),
        link_type,
        block_keys,
    )


# The columns each comparison reads: EM cannot train a comparison on a block that uses any.
COMPARISON_INPUTS = {
    "given_name": {"given_name", "given_name_canonical", "family_name"},
    "family_name": {"family_name", "given_name"},
    "date_of_birth": {"date_of_birth"},
    "sex": {"sex"},
    "location": {"postcode", "address"},
    "nhs_number": {"nhs_number"},
}


def _trains_something(rule: Rule, present: set[str], identifiers: list[str]) -> bool:
    inputs = {**COMPARISON_INPUTS, **{i: {i} for i in identifiers}}
    return any(columns & present and not columns & set(rule.fields) for columns in inputs.values())


def _training_rules(present: set[str], identifiers: list[str], nhs_pairs: int) -> list[Rule]:
    """Two EM blocks that between them let every comparison be trained.

    Pairs sharing an NHS number are nearly all true matches, so they teach how often a true
    match disagrees on names or date of birth; blocking on names instead would let
    same-named parents and children teach that dates of birth often differ.
    """
    rules = [
        rule
        for rule in _training_candidates(present, identifiers, nhs_pairs)
        if _trains_something(rule, present, identifiers)
    ]
    return rules


def _training_candidates(present: set[str], identifiers: list[str], nhs_pairs: int) -> list[Rule]:
    rules: list[Rule] = []
    if "nhs_number" in present and nhs_pairs >= 200:
        rules.append(_rule("nhs_number"))
    elif {"given_name_canonical", "family_name"} <= present:
        rules.append(_rule("given_name_canonical", "family_name"))
    elif identifiers and identifiers[0] in present:
        rules.append(_rule(identifiers[0]))
    # A block that leaves the names free to be learnt: date of birth (sampled when big).
    if "date_of_birth" in present:
        rules.append(_rule("date_of_birth"))
    elif "postcode" in present:
        rules.append(_rule("postcode"))
    return rules


def _prior_rules(present: set[str], identifiers: list[str]) -> list[Rule]:
    """Strict rules whose matches are almost all true; they estimate the prior match rate.

    Built from what is populated, so that data without postcodes or NHS numbers still finds
    its matches here (a rule that finds none would leave a prior of zero).
    """
    rules = [_rule("nhs_number_valid")] if "nhs_number" in present else []
    rules += [_rule(i) for i in identifiers if i in present]
    person = [f for f in ("given_name", "family_name", "date_of_birth", "postcode") if f in present]
    if len(person) >= 3:
        rules.append(_rule(*person))
    return rules


def settings(backend: Backend, chosen: Plan) -> SettingsCreator:
    """splink settings for a plan: comparisons of the populated fields, its blocking rules."""
    present = set(chosen.fields)
    comparisons = []
    if "given_name" in present:
        comparisons.append(
            _name("given_name", "family_name", backend, canonical="given_name_canonical")
        )
    if "family_name" in present:
        comparisons.append(_name("family_name", "given_name", backend))
    if "date_of_birth" in present:
        comparisons.append(_date_of_birth())
    if "sex" in present:
        comparisons.append(cl.ExactMatch("sex"))
    if present & {"postcode", "address"}:
        comparisons.append(_location(backend))
    if "nhs_number" in present:
        comparisons.append(_nhs_number())
    comparisons += [_identifier(i) for i in chosen.identifiers if i in present]
    return SettingsCreator(
        link_type=chosen.link_type,
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[r.creator() for r in chosen.rules],
        retain_intermediate_calculation_columns=True,  # mw_<comparison>: evidence for review
        retain_matching_columns=False,
    )


def train(linker: Linker, chosen: Plan, records: int, seed: int = 42, u_pairs: float = 2e6) -> dict:
    """Estimate the prior, then u by random sampling and m by EM (parameters, not guesses).

    Returns how the prior was found: from the plan's strict rules when they find matches,
    else from looser ones, else (nothing agrees exactly) one match per record assumed.
    """
    settings_obj = linker._settings_obj  # no public setter; a prior of 0 or 1 breaks predict
    prior, source = 0.0, ""
    attempts = [(chosen.prior_rules, 0.7)]
    looser = ("given_name", "family_name", "date_of_birth")
    if set(looser) <= set(chosen.fields):
        attempts.append(([_rule(*looser)], 0.5))
    for rules, recall in attempts:
        if not rules:
            continue
        try:
            linker.training.estimate_probability_two_random_records_match(
                [r.creator() for r in rules], recall=recall
            )
        except (SplinkException, ZeroDivisionError) as exc:
            log.warning("prior not estimated from %s (%s)", [r.name for r in rules], exc)
            continue
        prior = settings_obj._probability_two_random_records_match
        if 0 < prior < 1:
            source = (
                "estimate_probability_two_random_records_match on "
                f"{'; '.join(r.name for r in rules)} (recall {recall})"
            )
            break
    if not 0 < prior < 1:
        # Nothing agrees exactly on the strict rules: assume each record has one match.
        prior = min(0.5, 1 / max(records - 1, 1))
        source = "assumed one match per record (no strict rule found matches)"
    settings_obj._probability_two_random_records_match = prior
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    for rule in chosen.training_rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule.creator(), estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS
            )
        except (EMTrainingException, SplinkException) as exc:
            # Small inputs may have no pairs in a training block, or a block may leave no
            # comparison to train (names only); the other rule, or splink's default m
            # values, stand in.
            log.warning("EM skipped: %s", str(exc).splitlines()[0])
    return {"prior": prior, "prior_source": source}


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
