"""Poisson regression with unit and calendar fixed effects and disjoint indicator terms.

log E[y_um] = a_u + b_m + c_g(u,m), with g one of a few disjoint groups of cells (event-time
bins; -1 for the reference cells). Because the indicators are disjoint, every maximum-likelihood
update has a closed form (iterative proportional fitting): each parameter makes its cells'
fitted total equal their observed total. Units without any event carry no information on c
and drop out, as in a conditional (fixed-effects) Poisson model. Weights (a bootstrap's) scale
each cell's count and fitted value alike.

A bootstrap refits the same cells many times (millions of them at a million residents), so a
refit starts from the full sample's calendar and group effects, close to its own solution, and
each iteration exponentiates the few effects, not every cell (exp(a + b) = exp(a) exp(b)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-7
MAX_ITERATIONS = 500
FLOOR = -50.0  # the log-rate of a unit or month with no event: a fitted value of ~0


@dataclass(frozen=True)
class Fit:
    effects: np.ndarray  # c: log rate ratios against the reference cells, NaN without an event
    months: np.ndarray  # b: the calendar-month effects, where a refit of the same cells starts


def _log_ratio(observed: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((observed > 0) & (fitted > 0), np.log(observed / fitted), -np.inf)


def _floored(log_rate: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(log_rate), log_rate, FLOOR)


def fit(
    y: np.ndarray,
    unit: np.ndarray,
    month: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    weights: np.ndarray | None = None,
    start: Fit | None = None,
) -> Fit:
    """The group effects c and calendar effects b. ``unit``, ``month`` are 0-based codes;
    ``group`` is -1 for reference cells."""
    w = np.ones(len(y)) if weights is None else weights
    wy = w * y
    n_units, n_months = unit.max() + 1, month.max() + 1
    units_with_events = np.bincount(unit, wy, n_units) > 0
    keep = units_with_events[unit] & (w > 0)
    u, m, w_, wy_ = unit[keep], month[keep], w[keep], wy[keep]
    # The reference cells count in an extra last group, whose effect stays 0.
    g = np.where(group[keep] >= 0, group[keep], n_groups)
    observed_u = np.bincount(u, wy_, n_units)
    observed_m = np.bincount(m, wy_, n_months)
    observed_g = np.bincount(g, wy_, n_groups + 1)[:n_groups]
    if start is None:
        b, c = np.zeros(n_months), np.zeros(n_groups)
    else:
        b = np.where(np.isfinite(start.months), start.months, 0.0)
        c = np.nan_to_num(start.effects, nan=0.0, neginf=0.0)
    for _ in range(MAX_ITERATIONS):
        weighted = w_ * np.exp(np.append(c, 0.0))[g]
        a = _floored(_log_ratio(observed_u, np.bincount(u, weighted * np.exp(b)[m], n_units)))
        exp_a = np.exp(a)[u]
        b = _floored(_log_ratio(observed_m, np.bincount(m, weighted * exp_a, n_months)))
        fitted = w_ * exp_a * np.exp(b)[m]
        new_c = _log_ratio(observed_g, np.bincount(g, fitted, n_groups + 1)[:n_groups])
        finite = np.isfinite(new_c)
        change = np.max(np.abs(new_c[finite] - c[finite])) if finite.any() else 0.0
        c = np.where(finite, new_c, 0.0)
        if change < TOLERANCE:
            break
    return Fit(effects=np.where(observed_g > 0, c, np.nan), months=b)
