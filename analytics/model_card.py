"""The early-intervention model's card and its Algorithmic Transparency Recording Standard entry.

Both are written from the run's own figures (never typed in by hand), so they stay true to the
model that was trained. Group figures below the disclosure threshold are not shown.
"""

from __future__ import annotations

import pandas as pd

from analytics import early_intervention as ei
from quality.disclosure import THRESHOLD


def _metrics_table(run: ei.ModelRun) -> str:
    lines = [
        "| model | AUC-ROC | average precision | precision at capacity | recall at capacity "
        "| Brier |",
        "|---|---|---|---|---|---|",
    ]
    for name in ei.MODELS:
        m = run.metrics[name]["test"]
        brier = f"{m['brier_score']:.4f}" if "brier_score" in m else "n/a"
        lines.append(
            f"| {name} | {m['auc_roc']:.3f} | {m['average_precision']:.3f} | "
            f"{m['precision_at_capacity']:.3f} | {m['recall_at_capacity']:.3f} | {brier} |"
        )
    return "\n".join(lines)


def _boosting_choice(run: ei.ModelRun) -> str:
    chosen = run.boosting
    settings = ", ".join(f"{k}={v}" for k, v in chosen["settings"].items())
    return (
        f"Gradient boosting settings ({settings}) chosen among {chosen['settings_tried']} on the "
        f"validation months {chosen['validation_months']} (fitted on "
        f"{chosen['fit_months']}; average precision "
        f"{chosen['validation_average_precision']:.3f} on {chosen['validation_rows']} "
        f"child-months, {chosen['validation_positives']} positives), then refitted on all "
        "training months. The test months were not used to choose."
    )


def _sampled(split: dict) -> str:
    if "train_children_sampled" not in split:
        return ""
    return (
        f", fitted on a random sample of {split['train_children_sampled']} children (all their "
        f"months) out of {split['train_rows_available']} child-months, at most "
        f"{ei.MAX_TRAIN_ROWS}; the test months are evaluated in full"
    )


def disclosed_fairness(table: pd.DataFrame) -> pd.DataFrame:
    """The fairness table with the rates of groups under the threshold withheld."""
    shown = table.copy()
    small = (shown["children_months"] < THRESHOLD) | (shown["positives"].between(1, THRESHOLD - 1))
    for column in ("selection_rate", "true_positive_rate", "false_positive_rate"):
        shown[column] = shown[column].astype(float).round(3).astype(object)
        shown.loc[small, column] = "withheld"
    shown["positives"] = shown["positives"].astype(object)
    shown.loc[shown["positives"].between(1, THRESHOLD - 1), "positives"] = f"<{THRESHOLD}"
    return shown


def fairness_markdown(table: pd.DataFrame) -> str:
    shown = disclosed_fairness(table)
    lines = [
        "| attribute | group | child-months | positives | selection rate | true positive rate "
        "| false positive rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in shown.itertuples(index=False):
        lines.append(
            f"| {row.attribute} | {row.group} | {row.children_months} | {row.positives} | "
            f"{row.selection_rate} | {row.true_positive_rate} | {row.false_positive_rate} |"
        )
    return "\n".join(lines)


def model_card(run: ei.ModelRun) -> str:
    split = run.split
    return f"""# Model card: early-intervention model (child protection plan within 3 months)

## Intended use
Helps children's services practitioners decide which children's records to **review** first
each month, within their capacity (the top {ei.CAPACITY_SHARE:.0%} of children by score). A
score is a prompt for a human to read the family's records; it is **never** a decision, never a
referral by itself and never shown to the family, to other agencies or to general analysts.

## Data
`marts.{ei.MART}`: one row per child (aged 0 to {ei.MAX_CHILD_AGE}) and month, from contacts
with police, A&E, schools, social care and revenues and benefits (pseudonymous keys only).
Features look back over the 3, 6 and 12 months to the month; the label is a child protection
plan starting in the {ei.LABEL_MONTHS} months after it.

## Validation (time-based)
- training months: {split.get("train_months")} ({split.get("train_rows")} child-months,
  {split.get("train_positives")} positives){_sampled(split)}
- left out so no training label reaches the test period: {split.get("gap_months")}
- test months: {split.get("test_months")} ({split.get("test_rows")} child-months,
  {split.get("test_positives")} positives)

{_metrics_table(run)}

{_boosting_choice(run)}

The rule baseline flags children with contacts from two or more of police, A&E and school
(exclusion or {ei.RULE_ABSENCE_SESSIONS}+ unauthorised absence sessions) in the last 6 months.

## Fairness (chosen model, flag at capacity, test months)
Groups with fewer than {THRESHOLD} child-months or positives have their rates withheld.

{fairness_markdown(run.fairness)}

## Limits
- Trained on a synthetic demo region: its figures show the method works, not how it would do
  on a real population.
- Children unknown to the bodies have no contacts and so low scores: absence of a score is not
  absence of risk. Linkage errors can merge or split children's records.
- Children with no known home (no area, so no IMD decile) form a group of their own in the
  fairness table: check its true positive rate, the model has less to go on for them.
- Plans follow practitioners' own decisions, so the model learns past practice, including any
  bias in who was referred.

## What a practitioner must not do
- act on a score without reviewing the records and applying professional judgement;
- tell a family or another agency that an algorithm flagged them;
- use the score for anything but prioritising reviews (not eligibility, not enforcement);
- copy the review list out of the restricted `practitioner` schema.
"""


def atrs_entry(run: ei.ModelRun) -> str:
    chosen = run.metrics[ei.CHOSEN_MODEL]["test"]
    return f"""# Algorithmic Transparency Recording Standard entry (tier 1 and 2 summary)

**Name:** Early-intervention review prioritisation
**Organisation:** Regional Office of Data Analytics, for children's services
**Description:** A gradient-boosted model ranks children by the chance that a child protection
plan starts within {ei.LABEL_MONTHS} months, so practitioners review the top
{ei.CAPACITY_SHARE:.0%} first. Humans make every decision.
**Phase:** pilot on the synthetic demo region.
**Owner and responsibility:** Office of Data Analytics, Data Science; practitioners of
children's services decide.
**Human oversight:** scores reach only the purpose-limited practitioner role as a ranked review
list (`practitioner.{ei.REVIEW_TABLE}`); no automated decision is taken.
**Data:** pseudonymised multi-agency contacts (police, acute trust, schools, social care,
revenues and benefits) shared for early intervention under each body's sharing agreement.
**Performance (test months):** AUC-ROC {chosen["auc_roc"]:.3f}, average precision
{chosen["average_precision"]:.3f}, precision {chosen["precision_at_capacity"]:.3f} and recall
{chosen["recall_at_capacity"]:.3f} at capacity; compared with a rule and a logistic regression.
**Risks and mitigations:** bias from past referral practice (fairness by sex, age band and IMD
decile reported each run); unknown children look low-risk (stated in the model card);
re-identification (record-level outputs restricted, aggregates disclosure-controlled).
"""
