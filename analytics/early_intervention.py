"""The early-intervention model: will a child protection plan start in the next 3 months?

Read from the mart ``early_intervention_features`` (one row per person and month); children
only (age 0 to 17). Validation is by time: the model is trained on earlier months and tested
on later ones, and the training months stop ``LABEL_MONTHS`` before the first test month, so no
training label looks into the test period. Features look back only (the mart's rolling windows
end at the month), and nothing derived from the label window is a feature.

The boosting settings are chosen on a validation window cut from the end of the training months
(``VALIDATION_MONTHS``, with its own ``LABEL_MONTHS`` gap before it), then the chosen model is
refitted on all training months; the test months are never used to choose.

Compared: a rule (contacts from at least two of police, A&E and school in the last 6 months),
a logistic regression and a gradient-boosted model. The operating point is the practitioners'
capacity: each month they can review the top ``CAPACITY_SHARE`` of children by score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from psycopg import sql
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from analytics.store import InsufficientDataError

MART = "early_intervention_features"
LABEL = "child_protection_plan_next_3_months"
LABEL_COMPLETE = "label_3m_is_complete"
LABEL_MONTHS = 3
TEST_MONTHS = 6
CAPACITY_SHARE = 0.02
MAX_CHILD_AGE = 17
# School absence counted as a school contact in the rule: a fortnight of unauthorised sessions.
RULE_ABSENCE_SESSIONS = 10
FEATURES = [
    "age_years",
    "household_persons",
    "imd_decile",
    "contacts_month",
    "contacts_12m",
    "bodies_12m",
    "high_severity_contacts_12m",
    "police_contacts_12m",
    "domestic_abuse_incidents_12m",
    "childrens_social_care_contacts_12m",
    "adult_social_care_contacts_12m",
    "ae_attendances_12m",
    "school_exclusions_12m",
    "arrears_contacts_12m",
    "school_attendance_rate",
    "unauthorised_absences_3m",
    "hardship_score",
    "police_contacts_6m",
    "ae_attendances_6m",
    "school_exclusions_6m",
    "unauthorised_absences_6m",
    "child_protection_plans_12m",
]
# The mart's rows the model reads (``children`` keeps the same ones): adults never reach it.
CHILDREN_ONLY = sql.SQL("{} between 0 and {}").format(
    sql.Identifier("age_years"), sql.Literal(MAX_CHILD_AGE)
)
GROUP_COLUMNS = ["sex_code", "age_band", "imd_group"]
COLUMNS = ["person_key", "month_start", "sex_code", *FEATURES, LABEL, LABEL_COMPLETE]
# The boosting settings are chosen from this grid on the validation months (see
# ``choose_boosting``). Shallow trees and large leaves are in it because the label is rare (under
# 1 % of child-months) and deeper trees can learn noise; the grid lets the validation months say.
BOOSTING_GRID = {
    "max_depth": [2, 3],
    "learning_rate": [0.03, 0.1],
    "max_iter": [150, 300],
    "min_samples_leaf": [100, 300],
}
# The last training months held out to choose the settings: enough for a few dozen positives.
VALIDATION_MONTHS = 3
MODELS = ("rule", "logistic_regression", "gradient_boosting")
# Training child-months at most: above it, the models are fitted on a seeded random sample of
# children (all of each sampled child's months, so the sample keeps the children's histories and,
# in expectation, the label's prevalence), while every test month is scored and evaluated in
# full. The fits' time and memory grow with their rows (16 boosting settings each), so a region
# of a million residents (~3 million training child-months) fits in about the time of one of
# 150,000 residents. The demo (20,000) and the 100,000 region train on every child.
MAX_TRAIN_ROWS = 500_000
# OpenMP threads for the boosting fits and scores. One: on a machine whose cores are busy with
# other work (dbt, PostgreSQL, other runs), OpenMP's threads wait for each other at every
# iteration; one fit on the 20k region's training months took 34 s with two threads and 1.2 s
# with one (load 12 on 2 cores), and the 16 settings of the grid made the regional build's
# analytics step 17 minutes.
MODEL_THREADS = 1
CHOSEN_MODEL = "gradient_boosting"
REVIEW_TABLE = "early_intervention_review_list"
REVIEW_PURPOSE = "early_intervention"  # the practitioner role that may read the list


@dataclass
class ModelRun:
    metrics: dict[str, dict[str, dict[str, float]]]  # model -> split -> metric -> value
    curves: dict[str, dict] = field(default_factory=dict)  # model -> roc/pr/calibration arrays
    fairness: pd.DataFrame | None = None
    split: dict = field(default_factory=dict)
    review_list: pd.DataFrame | None = None
    boosting: dict = field(default_factory=dict)  # chosen settings and their validation figures


def children(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame[frame["age_years"].between(0, MAX_CHILD_AGE)].copy()
    data["month_start"] = pd.to_datetime(data["month_start"])
    # A fixed row order: the mart is read without one, and the fits must not depend on it.
    data = data.sort_values(["month_start", "person_key"], ignore_index=True)
    for column in FEATURES:
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    data["age_band"] = pd.cut(
        data["age_years"], [-1, 4, 10, 15, MAX_CHILD_AGE], labels=["0-4", "5-10", "11-15", "16-17"]
    ).astype(str)
    # Children whose home is not known have no area: a group of their own in the fairness table.
    data["imd_group"] = [
        "unknown" if pd.isna(d) else f"{int(d):02d}" for d in data["imd_decile"].to_numpy()
    ]
    return data


def time_split(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Train on months whose label window ends before the test months begin; test on the last
    ``TEST_MONTHS`` months with a complete label."""
    labelled = data[data[LABEL_COMPLETE].astype(bool)]
    months = sorted(labelled["month_start"].unique())
    if len(months) < TEST_MONTHS + LABEL_MONTHS + 3:
        raise InsufficientDataError(
            f"{MART}: {len(months)} months with a complete label; the time split needs at least "
            f"{TEST_MONTHS + LABEL_MONTHS + 3}"
        )
    test_months = months[-TEST_MONTHS:]
    first_test = test_months[0]
    train_end = first_test - pd.DateOffset(months=LABEL_MONTHS)
    train = labelled[labelled["month_start"] < train_end]
    test = labelled[labelled["month_start"].isin(test_months)]
    split = {
        "train_months": f"{months[0]:%Y-%m} to {train['month_start'].max():%Y-%m}",
        "gap_months": f"{train_end:%Y-%m} to {first_test - pd.DateOffset(months=1):%Y-%m}",
        "test_months": f"{first_test:%Y-%m} to {test_months[-1]:%Y-%m}",
        "train_rows": len(train),
        "test_rows": len(test),
        "train_positives": int(train[LABEL].sum()),
        "test_positives": int(test[LABEL].sum()),
    }
    return train, test, split


def sample_training(train: pd.DataFrame, split: dict, seed: int = 0) -> pd.DataFrame:
    """``train`` as it is, or a seeded sample of its children of ``MAX_TRAIN_ROWS`` child-months
    at most; ``split`` records which."""
    if len(train) <= MAX_TRAIN_ROWS:
        return train
    people = np.sort(train["person_key"].unique())
    share = MAX_TRAIN_ROWS / len(train)
    chosen = np.random.default_rng(seed).choice(
        people, size=int(len(people) * share), replace=False
    )
    sample = train[train["person_key"].isin(chosen)]
    split.update(
        {
            "train_rows_available": len(train),
            "train_rows": len(sample),
            "train_children_sampled": f"{len(chosen)} of {len(people)}",
            "train_positives": int(sample[LABEL].sum()),
        }
    )
    return sample


def rule_score(data: pd.DataFrame) -> np.ndarray:
    """Bodies among police, A&E and school with a contact in the last 6 months (0 to 3); the rule
    flags children with two or more."""
    school = (data["school_exclusions_6m"].fillna(0) > 0) | (
        data["unauthorised_absences_6m"].fillna(0) >= RULE_ABSENCE_SESSIONS
    )
    return (
        (data["police_contacts_6m"].fillna(0) > 0).astype(int)
        + (data["ae_attendances_6m"].fillna(0) > 0).astype(int)
        + school.astype(int)
    ).to_numpy(dtype=float)


def validation_split(train: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict]:
    """Positions in ``train`` to fit on and to validate on: the last ``VALIDATION_MONTHS``
    training months validate; fitting stops ``LABEL_MONTHS`` before them, as the training months
    stop before the test months, so no fitting label looks into the validation months."""
    months = sorted(train["month_start"].unique())
    if len(months) < VALIDATION_MONTHS + LABEL_MONTHS + 3:
        raise InsufficientDataError(
            f"{MART}: {len(months)} training months; choosing the boosting settings needs at "
            f"least {VALIDATION_MONTHS + LABEL_MONTHS + 3}"
        )
    first_validation = months[-VALIDATION_MONTHS]
    fit_end = first_validation - pd.DateOffset(months=LABEL_MONTHS)
    month = train["month_start"].to_numpy()
    fit_rows = np.flatnonzero(month < np.datetime64(fit_end))
    validation_rows = np.flatnonzero(month >= np.datetime64(first_validation))
    split = {
        "fit_months": f"{months[0]:%Y-%m} to {pd.Timestamp(month[fit_rows].max()):%Y-%m}",
        "validation_months": f"{first_validation:%Y-%m} to {months[-1]:%Y-%m}",
        "validation_rows": len(validation_rows),
        "validation_positives": int(train[LABEL].to_numpy()[validation_rows].sum()),
    }
    return fit_rows, validation_rows, split


def choose_boosting(train: pd.DataFrame, seed: int = 0) -> tuple[GridSearchCV, dict]:
    """Each setting of ``BOOSTING_GRID`` fitted on the early training months and scored by
    average precision on the validation months; the best (first on a tie) is refitted on all
    training months."""
    fit_rows, validation_rows, split = validation_split(train)
    search = GridSearchCV(
        # No automatic early stopping: it would hold out random rows (other months of the same
        # children); the number of iterations is chosen on the validation months instead.
        HistGradientBoostingClassifier(early_stopping=False, random_state=seed),
        BOOSTING_GRID,
        scoring="average_precision",
        cv=[(fit_rows, validation_rows)],
        refit=True,
    )
    search.fit(train[FEATURES].fillna(-1).to_numpy(), train[LABEL].astype(int).to_numpy())
    chosen = {
        "settings": dict(search.best_params_),
        "validation_average_precision": float(search.best_score_),
        "settings_tried": len(search.cv_results_["params"]),
        **split,
    }
    return search, chosen


def fit_models(train: pd.DataFrame, seed: int = 0) -> tuple[dict, dict]:
    x, y = train[FEATURES].fillna(-1).to_numpy(), train[LABEL].astype(int).to_numpy()
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logistic.fit(x, y)
    boosted, chosen = choose_boosting(train, seed)
    return {"logistic_regression": logistic, "gradient_boosting": boosted.best_estimator_}, chosen


def scores(models: dict, data: pd.DataFrame) -> dict[str, np.ndarray]:
    x = data[FEATURES].fillna(-1).to_numpy()
    out = {"rule": rule_score(data)}
    for name, model in models.items():
        out[name] = model.predict_proba(x)[:, 1]
    return out


def capacity_flags(
    data: pd.DataFrame, score: np.ndarray, share: float = CAPACITY_SHARE
) -> np.ndarray:
    """The top ``share`` of children by score in each month (ties broken by a fixed order)."""
    frame = pd.DataFrame({"month": data["month_start"].to_numpy(), "score": score})
    frame["jitter"] = np.random.default_rng(0).random(len(frame)) * 1e-9
    rank = (
        (frame["score"] + frame["jitter"])
        .groupby(frame["month"])
        .rank(ascending=False, method="first")
    )
    size = frame.groupby("month")["score"].transform("size")
    return (rank <= np.maximum(1, np.floor(share * size))).to_numpy()


def evaluate(data: pd.DataFrame, score: np.ndarray, is_probability: bool) -> dict[str, float]:
    y = data[LABEL].astype(int).to_numpy()
    flags = capacity_flags(data, score)
    true_pos = int((flags & (y == 1)).sum())
    metrics = {
        "auc_roc": roc_auc_score(y, score) if 0 < y.sum() < len(y) else float("nan"),
        "average_precision": average_precision_score(y, score) if y.sum() else float("nan"),
        "precision_at_capacity": true_pos / max(1, int(flags.sum())),
        "recall_at_capacity": true_pos / max(1, int(y.sum())),
        "flagged_at_capacity": int(flags.sum()),
        "positives": int(y.sum()),
        "rows": len(y),
        "prevalence": float(y.mean()),
    }
    if is_probability:
        metrics["brier_score"] = brier_score_loss(y, score)
    return metrics


def fairness_table(data: pd.DataFrame, flags: np.ndarray) -> pd.DataFrame:
    """Error rates of the operating flag by sex, age band and IMD decile (fairlearn MetricFrame)."""
    y = data[LABEL].astype(int).to_numpy()
    rows = []
    for column in GROUP_COLUMNS:
        frame = MetricFrame(
            metrics={
                "children_months": count,
                "selection_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
            },
            y_true=y,
            y_pred=flags.astype(int),
            sensitive_features=data[column].astype(str).to_numpy(),
        )
        table = frame.by_group.reset_index()
        table.columns = ["group", *table.columns[1:]]
        table.insert(0, "attribute", column)
        table["children_months"] = table["children_months"].astype(int)
        table["positives"] = (
            pd.Series(y)
            .groupby(data[column].astype(str).to_numpy())
            .sum()
            .reindex(table["group"])
            .to_numpy()
        )
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def run_model(frame: pd.DataFrame, seed: int = 0) -> ModelRun:
    with threadpool_limits(limits=MODEL_THREADS, user_api="openmp"):
        return _run_model(frame, seed)


def _run_model(frame: pd.DataFrame, seed: int = 0) -> ModelRun:
    data = children(frame)
    train, test, split = time_split(data)
    train = sample_training(train, split, seed)
    if train[LABEL].sum() < 5:
        raise InsufficientDataError(
            f"{MART}: {int(train[LABEL].sum())} positive labels in training months"
        )
    models, boosting = fit_models(train, seed)
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    curves: dict[str, dict] = {}
    train_scores, test_scores = scores(models, train), scores(models, test)
    y_test = test[LABEL].astype(int).to_numpy()
    for name in MODELS:
        probability = name != "rule"
        metrics[name] = {
            "train": evaluate(train, train_scores[name], probability),
            "test": evaluate(test, test_scores[name], probability),
        }
        curve = {"score": test_scores[name], "y": y_test}
        if probability and y_test.sum():
            prob_true, prob_pred = calibration_curve(
                y_test, test_scores[name], n_bins=10, strategy="quantile"
            )
            curve["calibration"] = (prob_pred, prob_true)
        curves[name] = curve
    chosen_flags = capacity_flags(test, test_scores[CHOSEN_MODEL])
    fairness = fairness_table(test, chosen_flags)
    review = review_list(data, models[CHOSEN_MODEL])
    # The chosen settings and their validation figure, kept with the metrics (numbers only).
    metrics["gradient_boosting"]["validation"] = {
        "average_precision": boosting["validation_average_precision"],
        **{name: float(value) for name, value in boosting["settings"].items()},
    }
    return ModelRun(
        metrics=metrics,
        curves=curves,
        fairness=fairness,
        split=split,
        review_list=review,
        boosting=boosting,
    )


REVIEW_TYPES = {
    "person_key": "text not null",
    "month_start": "date not null",
    "review_rank": "integer not null",
    "score": "double precision not null",
    "bodies_12m": "integer",
    "police_contacts_6m": "integer",
    "ae_attendances_6m": "integer",
    "school_exclusions_6m": "integer",
    "unauthorised_absences_6m": "integer",
}

REVIEW_COMMENT = (
    "Purpose: early intervention (safeguarding practitioners' review). Disclosure: record level, "
    "restricted to the purpose-limited practitioner role, never general analysts. Grain: one row "
    "per child in the top capacity share by model score in the latest month. A list for a human "
    "to review with the family's records, never an automated decision; see the model card."
)


def review_list(data: pd.DataFrame, model) -> pd.DataFrame:
    """Children of the latest month in the top capacity share, for a practitioner to review."""
    latest = data[data["month_start"] == data["month_start"].max()].copy()
    if latest.empty:
        return pd.DataFrame(columns=list(REVIEW_TYPES))
    latest["score"] = model.predict_proba(latest[FEATURES].fillna(-1).to_numpy())[:, 1]
    latest = latest[capacity_flags(latest, latest["score"].to_numpy())]
    latest = latest.sort_values("score", ascending=False)
    latest["review_rank"] = np.arange(1, len(latest) + 1)
    latest["month_start"] = latest["month_start"].dt.date
    for column in (
        "bodies_12m",
        "police_contacts_6m",
        "ae_attendances_6m",
        "school_exclusions_6m",
        "unauthorised_absences_6m",
    ):
        latest[column] = latest[column].fillna(0).astype(int)
    return latest[list(REVIEW_TYPES)]
