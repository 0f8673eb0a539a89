"""Poisson regression with unit and calendar fixed effects and disjoint indicator terms.

log E[y_um] = a_u + b_m + c_g(u,m), with g one of a few disjoint groups of cells (event-time
bins; -1 for the reference cells). Because the indicators are disjoint, every maximum-likelihood
update has a closed form (iterative proportional fitting): each parameter makes its cells'
fitted total equal their observed total. Units without any event carry no information on c
and drop out, as in a conditional (fixed-effects) Poisson model. Weights (a bootstrap's) scale
each cell's count and fitted value alike.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-7
MAX_ITERATIONS = 500


def _log_ratio(observed: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((observed > 0) & (fitted > 0), np.log(observed / fitted), -np.inf)


def fit(
    y: np.ndarray,
    unit: np.ndarray,
    month: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    weights: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """The group effects c (log rate ratios against the reference cells), NaN where a group has
    no event. ``unit``, ``month`` are 0-based codes; ``group`` is -1 for reference cells."""
    w = np.ones(len(y)) if weights is None else weights
    wy = w * y
    n_units, n_months = unit.max() + 1, month.max() + 1
    units_with_events = np.bincount(unit, wy, n_units) > 0
    keep = units_with_events[unit] & (w > 0)
    y_, u, m, g, w_, wy_ = y[keep], unit[keep], month[keep], group[keep], w[keep], wy[keep]
    in_group = g >= 0
    g_safe = np.where(in_group, g, 0)
    observed_u = np.bincount(u, wy_, n_units)
    observed_m = np.bincount(m, wy_, n_months)
    observed_g = np.bincount(g_safe[in_group], wy_[in_group], n_groups)
    a = np.zeros(n_units)
    b = np.zeros(n_months)
    c = np.zeros(n_groups) if start is None else np.nan_to_num(start, nan=0.0, neginf=0.0)
    for _ in range(MAX_ITERATIONS):
        c_cell = np.where(in_group, c[g_safe], 0.0)
        base = w_ * np.exp(b[m] + c_cell)
        a = _log_ratio(observed_u, np.bincount(u, base, n_units))
        a = np.where(np.isfinite(a), a, -50.0)
        base = w_ * np.exp(a[u] + c_cell)
        b = _log_ratio(observed_m, np.bincount(m, base, n_months))
        b = np.where(np.isfinite(b), b, -50.0)
        fitted = w_ * np.exp(a[u] + b[m])
        new_c = _log_ratio(observed_g, np.bincount(g_safe[in_group], fitted[in_group], n_groups))
        finite = np.isfinite(new_c)
        change = np.max(np.abs(new_c[finite] - c[finite])) if finite.any() else 0.0
        c = np.where(finite, new_c, 0.0)
        if change < TOLERANCE:
            break
    del y_
    return np.where(observed_g > 0, c, np.nan)
