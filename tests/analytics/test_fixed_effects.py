"""The fixed-effects Poisson fit a bootstrap repeats: it recovers planted effects, a refit that
starts from the full sample's solution lands where a refit from zero does, and drawing one
replicate's weights at a time gives the same weights as drawing them all at once."""

from __future__ import annotations

import numpy as np

from analytics import fixed_effects
from analytics.intervals import poisson_weights


def planted_cells(units: int = 3000, months: int = 24, seed: int = 3):
    """Every unit x month; a third of units gain group 0 (ratio 1.5) then group 1 (ratio 2.5)
    after a unit-specific month; unit baselines vary tenfold, months follow a trend."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), months)
    month = np.tile(np.arange(months), units)
    exposed = rng.random(units) < 1 / 3
    start = rng.integers(4, 16, units)
    group = np.full(len(unit), -1)
    since = month - start[unit]
    group[exposed[unit] & (since >= 0)] = 0
    group[exposed[unit] & (since >= 6)] = 1
    log_rate = np.log(rng.uniform(0.01, 0.1, units))[unit] + 0.03 * month
    log_rate += np.where(group == 0, np.log(1.5), 0.0) + np.where(group == 1, np.log(2.5), 0.0)
    y = rng.poisson(np.exp(log_rate)).astype(float)
    return y, unit, month, group


def test_the_fit_recovers_planted_rate_ratios():
    y, unit, month, group = planted_cells()
    ratios = np.exp(fixed_effects.fit(y, unit, month, group, 2).effects)
    assert abs(ratios[0] - 1.5) < 0.25, ratios
    assert abs(ratios[1] - 2.5) < 0.35, ratios


def test_a_warm_started_refit_lands_where_a_cold_one_does():
    y, unit, month, group = planted_cells()
    full = fixed_effects.fit(y, unit, month, group, 2)
    rng = np.random.default_rng(9)
    for _ in range(5):
        [weights] = poisson_weights(rng, 1, unit.max() + 1)
        cold = fixed_effects.fit(y, unit, month, group, 2, weights[unit])
        warm = fixed_effects.fit(y, unit, month, group, 2, weights[unit], full)
        assert not np.allclose(cold.effects, full.effects, atol=1e-3)  # a different sample
        np.testing.assert_allclose(warm.effects, cold.effects, rtol=0, atol=1e-5)


def test_a_group_without_events_has_no_effect():
    y, unit, month, group = planted_cells(units=500)
    y[group == 1] = 0.0
    effects = fixed_effects.fit(y, unit, month, group, 2).effects
    assert np.isfinite(effects[0]) and np.isnan(effects[1])


def test_weights_drawn_one_replicate_at_a_time_are_the_weights_drawn_at_once():
    at_once = poisson_weights(np.random.default_rng(2024), 50, 777)
    rng = np.random.default_rng(2024)
    one_at_a_time = np.vstack([poisson_weights(rng, 1, 777) for _ in range(50)])
    np.testing.assert_array_equal(one_at_a_time, at_once)
