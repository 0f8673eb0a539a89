"""Betting premises and financial hardship: an event study of new premises.

Design (read from the mart ``hardship_by_property_month``, one row per home and month):
- Treated homes lie within ``TREATED_WITHIN_M`` of a betting premises that opened during the
  licensing register; control homes lie farther than ``CONTROL_BEYOND_M`` from every such
  premises. Homes in between are left out (they are neither clearly exposed nor clearly not).
- The outcome is a household's hardship onset: in hardship this month, not the month before.
  A home-month is at risk when the household was not in hardship the month before.
- A Poisson model of onsets with a fixed effect per home (each household its own baseline, so
  homes that differ in risk are compared with themselves) and per calendar month (region-wide
  trends such as caseload changes or a late delivery cancel, learnt from the control homes).
- The effect is the rate ratio of treated home-months from ``LAG_MONTHS`` after opening on,
  against before opening (a difference-in-differences on the log-rate scale); the months
  between opening and the lag have their own term. The event-time curve has one term per
  three-month bin of months since opening, the bin just before opening as reference.
- 95 % interval: a cluster bootstrap over homes (treated and control resampled separately).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics import fixed_effects
from analytics.intervals import percentile_interval, poisson_weights
from analytics.store import InsufficientDataError, StudyEstimate

STUDY = "betting_premises_hardship_onset"
MART = "hardship_by_property_month"
TREATED_WITHIN_M = 500.0  # walking distance to a high street, as in studies of gambling venues
CONTROL_BEYOND_M = 1000.0
LAG_MONTHS = 3  # the question asked: an effect from three months after opening
EVENT_BIN_MONTHS = 3  # the event-time curve groups months in threes
MIN_EVENT_TIME = -12  # the curve's earliest bin (months before opening)
REPLICATES = 200  # each replicate refits the model twice; 200 keep the demo quick
GROUPS = ["treated", "control", "buffer"]
HOME = "property_key"  # the mart's keyed pseudonym of the home (no UPRN: an address)
COLUMNS = [
    HOME,
    "month_start",
    "household_in_hardship",
    "nearest_new_premises_distance_m",
    "months_since_nearest_new_premises_opened",
]


@dataclass
class BettingStudy:
    estimate: StudyEstimate
    event_time: pd.DataFrame  # bin_start, bin_label, onsets, home_months_at_risk, ratio, CI
    counts: dict = field(default_factory=dict)


def at_risk_panel(frame: pd.DataFrame) -> pd.DataFrame:
    """Home-months at risk of a new hardship onset, with the onset, group and event time."""
    # Each home as its code in the keys' sorted order, so the sort and everything after it
    # handle an integer per home-month, not a 64-character key (12 million at 1M residents).
    codes, _ = pd.factorize(frame[HOME], sort=True)
    panel = (
        frame[COLUMNS]
        .drop(columns=HOME)
        .assign(home=codes)
        .sort_values(["home", "month_start"])
        .reset_index(drop=True)
    )
    in_hardship = panel["household_in_hardship"].astype(bool)
    previous = in_hardship.groupby(panel["home"]).shift(1)
    panel["at_risk"] = previous.eq(False)  # unknown in a home's first month: not at risk
    panel["onset"] = in_hardship & panel["at_risk"]
    distance = pd.to_numeric(panel["nearest_new_premises_distance_m"], errors="coerce")
    # Codes of a categorical, not a string per home-month (12 million of them at 1M residents).
    group = np.select(
        [distance <= TREATED_WITHIN_M, distance.isna() | (distance > CONTROL_BEYOND_M)], [0, 1], 2
    )
    panel["group"] = pd.Categorical.from_codes(group, GROUPS)
    panel["event_time"] = pd.to_numeric(
        panel["months_since_nearest_new_premises_opened"], errors="coerce"
    )
    panel["month"] = pd.to_datetime(panel["month_start"]).dt.to_period("M")
    return panel[panel["at_risk"] & (panel["group"] != "buffer")]


def _event_bin(event_time: np.ndarray) -> np.ndarray:
    clipped = np.maximum(event_time, MIN_EVENT_TIME)
    return (np.floor(clipped / EVENT_BIN_MONTHS) * EVENT_BIN_MONTHS).astype(int)


def estimate_betting_effect(
    frame: pd.DataFrame, replicates: int = REPLICATES, seed: int = 2024
) -> BettingStudy:
    panel = at_risk_panel(frame)
    treated = panel["group"].eq("treated").to_numpy()
    if not treated.any() or treated.all():
        raise InsufficientDataError(
            f"{MART}: no {'treated' if not treated.any() else 'control'} homes at risk; "
            "is any betting premises opening in the licensing register?"
        )
    # The homes at risk numbered in the keys' sorted order (as numpy.unique gave them): the
    # bootstrap's weights go to homes in this order.
    unit, homes = pd.factorize(panel["home"], sort=True)
    _, month = np.unique(panel["month"].array.asi8, return_inverse=True)  # Period ordinals
    y = panel["onset"].to_numpy(dtype=float)
    event = np.where(treated, panel["event_time"].to_numpy(dtype=float), np.nan)
    # Main model: one term for the months from the lag on, one for the months before it.
    period = np.full(len(y), -1)
    period[treated & (event >= 0) & (event < LAG_MONTHS)] = 0
    period[treated & (event >= LAG_MONTHS)] = 1
    # Event-time curve: one term per bin, the bin just before opening as reference.
    bins = np.unique(_event_bin(event[treated]))
    reference_bin = -EVENT_BIN_MONTHS
    bin_codes = {b: i for i, b in enumerate(b for b in bins if b != reference_bin)}
    curve_group = np.full(len(y), -1)
    binned = _event_bin(np.nan_to_num(event[treated], nan=0.0))
    curve_group[treated] = [bin_codes.get(b, -1) for b in binned]

    main_fit = fixed_effects.fit(y, unit, month, period, 2)
    curve_fit = fixed_effects.fit(y, unit, month, curve_group, len(bin_codes))
    main, curve = main_fit.effects, curve_fit.effects
    rng = np.random.default_rng(seed)
    boot_main = np.empty(replicates)
    boot_curve = np.empty((replicates, len(bin_codes)))
    for r in range(replicates):
        # One replicate's weights at a time: the same draws as all replicates' at once.
        [weights] = poisson_weights(rng, 1, len(homes))
        cell_weights = weights[unit]
        refit = fixed_effects.fit(y, unit, month, period, 2, cell_weights, main_fit)
        boot_main[r] = refit.effects[1]
        boot_curve[r] = fixed_effects.fit(
            y, unit, month, curve_group, len(bin_codes), cell_weights, curve_fit
        ).effects
    low, high = percentile_interval(np.exp(boot_main))
    observed = pd.Series(y[treated]).groupby(binned).sum()
    at_risk = pd.Series(np.ones(int(treated.sum()))).groupby(binned).sum()
    rows = []
    for b in bins:
        if b == reference_bin:
            ratio, ci = 1.0, (1.0, 1.0)
        else:
            j = bin_codes[b]
            ratio = float(np.exp(curve[j])) if np.isfinite(curve[j]) else None
            ci = percentile_interval(np.exp(boot_curve[:, j]))
        rows.append(
            {
                "bin_start": int(b),
                "bin_label": f"{b:+d} to {b + EVENT_BIN_MONTHS - 1:+d}",
                "onsets": int(observed.get(b, 0)),
                "home_months_at_risk": int(at_risk.get(b, 0)),
                "ratio": ratio,
                "ci_low": ci[0],
                "ci_high": ci[1],
            }
        )
    effect = float(np.exp(main[1])) if np.isfinite(main[1]) else None
    estimate = StudyEstimate(
        study=STUDY,
        estimate=effect,
        ci_low=low,
        ci_high=high,
        method=(
            f"event study (Poisson, home and calendar-month fixed effects): homes within "
            f"{TREATED_WITHIN_M:.0f} m of a new betting premises, from {LAG_MONTHS} months after "
            f"opening vs before, against homes beyond {CONTROL_BEYOND_M:.0f} m; cluster bootstrap "
            f"over homes ({replicates} replicates)"
        ),
        n=int(len(homes)),
    )
    counts = {
        "treated_homes": int(len(np.unique(unit[treated]))),
        "control_homes": int(len(np.unique(unit[~treated]))),
        "onsets_before_opening": int(y[treated & (event < 0)].sum()),
        "onsets_from_lag": int(y[period == 1].sum()),
        "control_onsets": int(y[~treated].sum()),
        "home_months_at_risk": int(len(y)),
    }
    return BettingStudy(estimate=estimate, event_time=pd.DataFrame(rows), counts=counts)
