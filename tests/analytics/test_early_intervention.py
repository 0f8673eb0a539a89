"""The early-intervention model on synthetic features: time split without leakage, the
baselines and the model evaluated, fairness by group, and a capacity-sized review list."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.model_selection import ParameterGrid

from analytics import early_intervention as ei
from analytics.model_card import atrs_entry, disclosed_fairness, model_card
from analytics.store import InsufficientDataError
from quality.disclosure import THRESHOLD
from tests.analytics.synthetic import early_intervention_features


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return early_intervention_features(children=1500)


@pytest.fixture(scope="module")
def run(features) -> ei.ModelRun:
    return ei.run_model(features)


def test_time_split_leaves_the_label_window_out_of_training(features):
    train, test, split = ei.time_split(ei.children(features))
    last_train = train["month_start"].max()
    first_test = test["month_start"].min()
    # the label of the last training month ends before the first test month
    assert last_train + pd.DateOffset(months=ei.LABEL_MONTHS) < first_test
    assert test["month_start"].nunique() == ei.TEST_MONTHS
    assert test[ei.LABEL_COMPLETE].all() and train[ei.LABEL_COMPLETE].all()
    assert split["train_rows"] == len(train) and split["test_rows"] == len(test)


def test_training_above_the_cap_is_a_sample_of_whole_children(features, monkeypatch):
    train, _, split = ei.time_split(ei.children(features))
    assert ei.sample_training(train, dict(split)) is train  # under the cap: every child
    cap = len(train) // 3
    monkeypatch.setattr(ei, "MAX_TRAIN_ROWS", cap)
    sample = ei.sample_training(train, split, seed=0)
    assert 0 < len(sample) <= cap
    # every month of each sampled child, so histories stay whole
    sampled = train[train["person_key"].isin(sample["person_key"].unique())]
    assert len(sampled) == len(sample)
    assert split["train_rows"] == len(sample) and split["train_rows_available"] == len(train)
    assert split["train_positives"] == int(sample[ei.LABEL].sum())
    # seeded: the same sample each time
    again = ei.sample_training(train, {}, seed=0)
    assert again["person_key"].tolist() == sample["person_key"].tolist()


def test_boosting_settings_are_chosen_on_training_months_only(features, run):
    train, test, _ = ei.time_split(ei.children(features))
    fit_rows, validation_rows, _ = ei.validation_split(train)
    fit, validation = train.iloc[fit_rows], train.iloc[validation_rows]
    first_test = test["month_start"].min()
    # no validation label reaches the test months, no fitting label the validation months
    assert validation["month_start"].max() + pd.DateOffset(months=ei.LABEL_MONTHS) < first_test
    assert fit["month_start"].max() + pd.DateOffset(months=ei.LABEL_MONTHS) < (
        validation["month_start"].min()
    )
    assert validation["month_start"].nunique() == ei.VALIDATION_MONTHS
    assert validation[ei.LABEL].sum() > 0
    chosen = run.boosting["settings"]
    assert set(chosen) == set(ei.BOOSTING_GRID)
    assert all(chosen[name] in values for name, values in ei.BOOSTING_GRID.items())
    assert run.boosting["settings_tried"] == len(ParameterGrid(ei.BOOSTING_GRID))
    assert 0 < run.boosting["validation_average_precision"] <= 1
    # the metrics record them with their validation figure
    assert (
        run.metrics[ei.CHOSEN_MODEL]["validation"]["average_precision"]
        == (run.boosting["validation_average_precision"])
    )
    assert run.metrics[ei.CHOSEN_MODEL]["validation"]["max_depth"] == chosen["max_depth"]


def test_choosing_settings_needs_enough_training_months(features):
    train, _, _ = ei.time_split(ei.children(features))
    months = sorted(train["month_start"].unique())
    short = train[train["month_start"].isin(months[-(ei.VALIDATION_MONTHS + ei.LABEL_MONTHS) :])]
    with pytest.raises(InsufficientDataError, match="choosing the boosting settings"):
        ei.validation_split(short)


def test_no_feature_is_the_label_or_looks_forward():
    forward = [f for f in ei.FEATURES if "next" in f or "label" in f or f == ei.LABEL]
    assert forward == []


def test_models_are_evaluated_against_both_baselines(run):
    for model in ei.MODELS:
        test = run.metrics[model]["test"]
        assert 0.5 < test["auc_roc"] <= 1.0, (model, test)
        assert 0 < test["average_precision"] <= 1.0
        assert 0 <= test["precision_at_capacity"] <= 1 and 0 <= test["recall_at_capacity"] <= 1
    chosen = run.metrics[ei.CHOSEN_MODEL]["test"]["average_precision"]
    assert chosen > run.metrics["rule"]["test"]["average_precision"]
    assert "brier_score" in run.metrics[ei.CHOSEN_MODEL]["test"]
    assert "calibration" in run.curves[ei.CHOSEN_MODEL]


def test_capacity_flags_the_top_share_of_each_month(run, features):
    data = ei.children(features)
    latest = data[data["month_start"] == data["month_start"].max()]
    flags = ei.capacity_flags(latest, latest["age_years"].to_numpy(dtype=float))
    assert flags.sum() == max(1, int(ei.CAPACITY_SHARE * len(latest)))
    assert len(run.review_list) == max(1, int(ei.CAPACITY_SHARE * len(latest)))
    assert list(run.review_list["review_rank"]) == list(range(1, len(run.review_list) + 1))


def test_fairness_table_covers_each_group_and_withholds_small_ones(run):
    assert set(run.fairness["attribute"]) == {"sex_code", "age_band", "imd_group"}
    assert (
        run.fairness.loc[run.fairness["attribute"] == "sex_code", "children_months"].sum()
        == (run.split["test_rows"])
    )
    shown = disclosed_fairness(run.fairness)
    small = run.fairness["positives"].between(1, THRESHOLD - 1)
    assert (shown.loc[small, "true_positive_rate"] == "withheld").all()


def test_model_card_and_atrs_entry_carry_the_run_figures(run):
    card = model_card(run)
    for section in ("Intended use", "Data", "Limits", "must not do", "Fairness"):
        assert section in card
    auc = run.metrics[ei.CHOSEN_MODEL]["test"]["auc_roc"]
    assert f"{auc:.3f}" in card and f"{auc:.3f}" in atrs_entry(run)
    assert f"{run.boosting['validation_average_precision']:.3f}" in card


def test_too_few_months_is_said_not_faked(features):
    first_months = sorted(features["month_start"].unique())[:6]
    short = features[features["month_start"].isin(first_months)]
    with pytest.raises(InsufficientDataError, match="months with a complete label"):
        ei.run_model(short)
