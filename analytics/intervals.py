"""Confidence intervals shared by the studies: a cluster (Poisson) bootstrap and a Wald interval.

The units of a study (homes) are resampled whole, so months of the same home stay together and
the interval reflects that a home's months are not independent. Poisson(1) weights stand for
resampling with replacement and let every replicate be a weighted sum, with no copying.
"""

from __future__ import annotations

import math

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_REPLICATES = 1000
Z95 = 1.959963984540054


def poisson_weights(rng: np.random.Generator, replicates: int, units: int) -> np.ndarray:
    return rng.poisson(1.0, size=(replicates, units)).astype(np.float64)


def percentile_interval(samples: np.ndarray) -> tuple[float | None, float | None]:
    finite = samples[np.isfinite(samples)]
    if len(finite) < 0.9 * len(samples) or not len(finite):
        return None, None  # too many replicates without events to say anything
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high)


def rate_ratio_wald(
    events_a: float, time_a: float, events_b: float, time_b: float
) -> tuple[float | None, float | None, float | None]:
    """Rate ratio a/b with a 95 % interval on the log scale (Poisson counts)."""
    if min(events_a, events_b, time_a, time_b) <= 0:
        return None, None, None
    ratio = (events_a / time_a) / (events_b / time_b)
    se = math.sqrt(1 / events_a + 1 / events_b)
    return ratio, ratio * math.exp(-Z95 * se), ratio * math.exp(Z95 * se)
