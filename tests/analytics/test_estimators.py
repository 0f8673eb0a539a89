"""Each study's estimator recovers an effect planted in synthetic data, and finds none when none
is planted (the data carry a falling calendar trend and riskier treated homes, so a naive
comparison would be wrong)."""

from __future__ import annotations

import pytest

from analytics import betting, damp
from analytics.store import InsufficientDataError
from tests.analytics.synthetic import damp_panel, hardship_panel


def test_betting_event_study_recovers_a_planted_doubling():
    study = betting.estimate_betting_effect(hardship_panel(2.0, homes=3000), replicates=60)
    e = study.estimate
    assert e.ci_low <= 2.0 <= e.ci_high, e
    assert e.ci_low > 1.2, e  # the effect is detected, not only not excluded
    assert study.counts["treated_homes"] > 0 and study.counts["control_homes"] > 0
    # The curve: flat before opening (reference bin fixed at 1), raised from the lag on.
    curve = study.event_time.set_index("bin_start")["ratio"]
    assert curve[-betting.EVENT_BIN_MONTHS] == 1.0
    assert curve[betting.LAG_MONTHS] > 1.4


def test_betting_event_study_finds_no_effect_when_none_is_planted():
    e = betting.estimate_betting_effect(hardship_panel(1.0, homes=3000), replicates=60).estimate
    assert e.ci_low <= 1.0 <= e.ci_high, e
    assert e.ci_high < 2.0, e


def test_betting_event_study_says_when_no_premises_opened():
    panel = hardship_panel(1.0, homes=50)
    panel["nearest_new_premises_distance_m"] = None
    with pytest.raises(InsufficientDataError, match="no treated homes"):
        betting.estimate_betting_effect(panel, replicates=5)


def test_damp_rate_ratio_recovers_the_planted_ratio():
    study = damp.estimate_damp_effect(damp_panel(2.5), replicates=200)
    e = study.estimate
    assert e.ci_low <= 2.5 <= e.ci_high, e
    assert e.ci_low > 1.5, e
    assert study.counts["damp_homes"] > 0 and study.counts["dry_homes"] > 0


def test_damp_rate_ratio_is_null_without_an_effect():
    e = damp.estimate_damp_effect(damp_panel(1.0), replicates=200).estimate
    assert e.ci_low <= 1.0 <= e.ci_high, e


def test_damp_definition_needs_sustained_humidity_or_a_repair():
    panel = damp_panel(1.0, homes=200)
    classified = damp.classify(panel)
    humid = classified[classified["damp_sensor_month"]]
    assert (humid["damp_days"] >= damp.DAMP_DAY_SHARE * humid["sensor_days"]).all()
    assert (humid["sensor_days"] >= damp.MIN_SENSOR_DAYS).all()
    # a few humid days in a dry home's month are not damp
    dry = classified[(classified["sensor_days"] > 0) & (classified["damp_days"] < 5)]
    assert not dry["damp_sensor_month"].any()
    # exposure starts SUSTAINED_MONTHS after the first evidence
    exposed = classified[classified["exposure"] == "damp"]
    assert (
        exposed["month_ordinal"] - exposed["first_evidence_ordinal"] >= damp.SUSTAINED_MONTHS
    ).all()


def test_damp_alerts_list_recent_evidence_without_health_data():
    panel = damp_panel(2.5, homes=300)
    alerts = damp.damp_alerts(panel)
    assert len(alerts) > 0
    assert list(alerts.columns) == list(damp.ALERT_TYPES)
    assert not any("respiratory" in c or "attendance" in c for c in alerts.columns)
    classified = damp.classify(panel)
    recent = classified[
        classified["month_ordinal"] > classified["month_ordinal"].max() - damp.ALERT_WINDOW_MONTHS
    ]
    with_evidence = set(recent.loc[recent["damp_evidence"], "uprn"])
    assert set(alerts["uprn"]) == with_evidence
