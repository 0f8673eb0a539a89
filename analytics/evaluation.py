"""Grade the analyses against the demo region's ground truth: the only module that reads it.

The studies are graded on whether their interval contains the planted effect
(data/ground_truth/effects.json); the damp alert list on its precision and recall against the
homes that are truly damp (properties.csv). Without a ground truth (a real region) evaluation
fails with a message saying so, rather than reporting nothing as if it had passed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import psycopg

from analytics import betting, damp
from analytics.store import PRACTITIONER_SCHEMA, StudyEstimate, latest_study_estimates

# The planted effect each study estimates, by its key in effects.json.
PLANTED = {
    betting.STUDY: ("betting_hardship", "planted_rate_ratio"),
    damp.STUDY: ("damp_respiratory", "planted_rate_ratio"),
}


class GroundTruthMissingError(FileNotFoundError):
    """No ground truth to grade against (only the demo region has one)."""


def _require(truth: Path, name: str) -> Path:
    path = truth / name
    if not path.is_file():
        raise GroundTruthMissingError(
            f"{path} not found: evaluation needs the demo region's ground truth "
            "(make region writes it); a real region has none, so there is nothing to grade"
        )
    return path


def read_effects(truth: Path) -> dict:
    return json.loads(_require(truth, "effects.json").read_text())


def grade_study(study: str, estimate: StudyEstimate | None, truth: Path) -> dict:
    """How the study's latest estimate compares with the planted effect; an estimate that was
    never made (too little data) is graded as missing the truth, not skipped."""
    section, key = PLANTED[study]
    effects = read_effects(truth)
    planted = float(effects[section][key])
    measured_in_truth = effects[section].get("rate_ratio")
    if estimate is None:
        estimate = StudyEstimate(study, None, None, None, "not estimated", 0)
    contains = (
        estimate.ci_low is not None
        and estimate.ci_high is not None
        and estimate.ci_low <= planted <= estimate.ci_high
    )
    return {
        "study": study,
        "planted": planted,
        "measured_in_truth": measured_in_truth,
        "estimate": estimate.estimate,
        "ci_low": estimate.ci_low,
        "ci_high": estimate.ci_high,
        "interval_contains_planted": bool(contains),
        "relative_error": (
            None if estimate.estimate is None else round(estimate.estimate / planted - 1, 4)
        ),
    }


def grade_studies(conn: psycopg.Connection, truth: Path) -> list[dict]:
    estimates = latest_study_estimates(conn)
    return [grade_study(study, estimates.get(study), truth) for study in PLANTED]


def truly_damp_homes(truth: Path, as_of_month: str) -> set[str]:
    with open(_require(truth, "properties.csv"), newline="", encoding="utf-8") as handle:
        return {
            row["uprn"]
            for row in csv.DictReader(handle)
            if row["damp_since_period"] and row["damp_since_period"] <= as_of_month
        }


def grade_damp_alerts(conn: psycopg.Connection, truth: Path) -> dict:
    """Precision and recall of the alert list among the social homes of its latest month."""
    _require(truth, "properties.csv")
    listed = conn.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        (PRACTITIONER_SCHEMA, damp.ALERT_TABLE),
    ).fetchone()
    if not listed:
        raise LookupError(
            f"{PRACTITIONER_SCHEMA}.{damp.ALERT_TABLE} does not exist: materialise the "
            "damp_alerts asset first"
        )
    alerts = conn.execute(
        f"select uprn, as_of_month from {PRACTITIONER_SCHEMA}.{damp.ALERT_TABLE}"
    ).fetchall()
    as_of = conn.execute(f"select max(month_start) from marts.{damp.MART}").fetchone()[0]
    if as_of is None:
        raise LookupError(f"marts.{damp.MART} is empty: no alert list to grade")
    universe = {
        r[0]
        for r in conn.execute(
            f"select uprn from marts.{damp.MART} where month_start = %s", (as_of,)
        ).fetchall()
    }
    damp_homes = truly_damp_homes(truth, as_of.strftime("%Y-%m")) & universe
    alerted = {r[0] for r in alerts}
    hits = len(alerted & damp_homes)
    return {
        "as_of_month": as_of.strftime("%Y-%m"),
        "social_homes": len(universe),
        "truly_damp_homes": len(damp_homes),
        "alerts": len(alerted),
        "true_alerts": hits,
        "precision": round(hits / len(alerted), 4) if alerted else None,
        "recall": round(hits / len(damp_homes), 4) if damp_homes else None,
    }
