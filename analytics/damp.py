"""Damp homes and respiratory health, and the damp alert list for the housing provider.

Read from the mart ``damp_evidence_by_property_month`` (one row per social home and month).

What counts as damp (documented here, and nowhere else):
- a damp sensor month: the home sensor reported on at least ``MIN_SENSOR_DAYS`` days and on at
  least ``DAMP_DAY_SHARE`` of them a quarter or more of the readings had relative humidity of
  70 % or more (the mart's damp days), i.e. humidity above the threshold sustained over weeks;
- a damp and mould repair reported by the tenant.
A home is damp from its first month of such evidence (damp does not clear by itself). Exposure
to damp counts from ``SUSTAINED_MONTHS`` after that first evidence (the question asked about
homes damp for two months or more); the months in between are left out.

Study: respiratory A&E attendances per person-month (household size on the tenancy) in damp
homes against homes with no damp evidence at all. The months of an eventually-damp home before
its first evidence are of unknown status (it may have been damp, unreported) and left out, so
unreported damp does not dilute the comparison. 95 % interval: cluster bootstrap over homes.

Alert: social homes with damp evidence in the last ``ALERT_WINDOW_MONTHS`` months, for the
housing provider to inspect. The list carries the evidence only: never residents' health.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.intervals import (
    BOOTSTRAP_REPLICATES,
    percentile_interval,
    poisson_weights,
    rate_ratio_wald,
)
from analytics.store import InsufficientDataError, StudyEstimate

STUDY = "damp_respiratory_ae"
MART = "damp_evidence_by_property_month"
DAMP_DAY_SHARE = 0.5
MIN_SENSOR_DAYS = 10
SUSTAINED_MONTHS = 2
ALERT_WINDOW_MONTHS = 12
ALERT_TABLE = "damp_alerts"
ALERT_PURPOSE = "housing_condition"  # the practitioner role that may read the list


@dataclass
class DampStudy:
    estimate: StudyEstimate
    wald: tuple[float | None, float | None, float | None]
    counts: dict


def classify(frame: pd.DataFrame) -> pd.DataFrame:
    """Each home-month with its damp evidence, the home's first evidence and its exposure."""
    panel = frame.copy()
    panel["month"] = pd.to_datetime(panel["month_start"]).dt.to_period("M")
    sensor_days = panel["sensor_days"].fillna(0)
    panel["damp_sensor_month"] = (sensor_days >= MIN_SENSOR_DAYS) & (
        panel["damp_days"].fillna(0) >= DAMP_DAY_SHARE * sensor_days
    )
    panel["damp_evidence"] = panel["damp_sensor_month"] | (
        panel["damp_mould_repairs"].fillna(0) > 0
    )
    ordinal = pd.Series(panel["month"].array.asi8, index=panel.index)  # Period.ordinal, vectorised
    panel["month_ordinal"] = ordinal
    first = ordinal.where(panel["damp_evidence"]).groupby(panel["uprn"]).transform("min")
    panel["first_evidence_ordinal"] = first
    since = ordinal - first
    panel["exposure"] = np.select(
        [first.isna(), since >= SUSTAINED_MONTHS, since >= 0],
        ["never_damp", "damp", "becoming_damp"],
        default="before_evidence",
    )
    return panel


def estimate_damp_effect(
    frame: pd.DataFrame, replicates: int = BOOTSTRAP_REPLICATES, seed: int = 2025
) -> DampStudy:
    panel = classify(frame)
    panel = panel[panel["exposure"].isin(["damp", "never_damp"])]
    persons = panel["household_size"].fillna(1).clip(lower=1).to_numpy(dtype=float)
    events = panel["respiratory_attendances"].fillna(0).to_numpy(dtype=float)
    exposed = panel["exposure"].eq("damp").to_numpy()
    homes, unit = np.unique(panel["uprn"].to_numpy(), return_inverse=True)
    if not exposed.any() or exposed.all():
        raise InsufficientDataError(
            f"{MART}: no {'damp' if not exposed.any() else 'dry'} home-months to compare"
        )
    n = len(homes)
    ev_e = np.bincount(unit, events * exposed, n)
    pt_e = np.bincount(unit, persons * exposed, n)
    ev_u = np.bincount(unit, events * ~exposed, n)
    pt_u = np.bincount(unit, persons * ~exposed, n)
    wald = rate_ratio_wald(ev_e.sum(), pt_e.sum(), ev_u.sum(), pt_u.sum())
    weights = poisson_weights(np.random.default_rng(seed), replicates, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = ((weights @ ev_e) / (weights @ pt_e)) / ((weights @ ev_u) / (weights @ pt_u))
    low, high = percentile_interval(boot)
    estimate = StudyEstimate(
        study=STUDY,
        estimate=None if wald[0] is None else float(wald[0]),
        ci_low=low,
        ci_high=high,
        method=(
            "rate ratio of respiratory A&E attendances per person-month, social homes damp for "
            f"{SUSTAINED_MONTHS}+ months (sensor: damp days on >= {DAMP_DAY_SHARE:.0%} of "
            f">= {MIN_SENSOR_DAYS} sensor days; or a damp and mould repair) vs homes with no damp "
            f"evidence; cluster bootstrap over homes ({replicates} replicates)"
        ),
        n=n,
    )
    counts = {
        "damp_homes": int((pt_e > 0).sum()),
        "dry_homes": int((pt_u > 0).sum()),
        "attendances_damp": int(ev_e.sum()),
        "person_months_damp": int(pt_e.sum()),
        "attendances_dry": int(ev_u.sum()),
        "person_months_dry": int(pt_u.sum()),
        "sensor_homes": int(frame.loc[frame["sensor_days"].fillna(0) > 0, "uprn"].nunique()),
    }
    return DampStudy(estimate=estimate, wald=wald, counts=counts)


ALERT_TYPES = {
    "uprn": "text not null",
    "ward_name": "text",
    "lsoa_code": "text",
    "first_evidence_month": "date not null",
    "last_evidence_month": "date not null",
    "damp_sensor_months": "integer not null",
    "damp_mould_repairs": "integer not null",
    "evidence": "text not null",
    "as_of_month": "date not null",
}

ALERT_COMMENT = (
    "Purpose: housing condition. Disclosure: record level, restricted to the housing provider's "
    "purpose-limited role (never general analysts). Grain: one row per social home with damp "
    f"evidence (a damp sensor month or a damp and mould repair) in the {ALERT_WINDOW_MONTHS} "
    "months to as_of_month, for the provider to inspect. Holds no resident's health data."
)


def damp_alerts(frame: pd.DataFrame) -> pd.DataFrame:
    """The homes to inspect: damp evidence in the last ``ALERT_WINDOW_MONTHS`` months."""
    panel = classify(frame)
    latest = panel["month_ordinal"].max()
    recent = panel[panel["month_ordinal"] > latest - ALERT_WINDOW_MONTHS]
    current_homes = set(panel.loc[panel["month_ordinal"] == latest, "uprn"])
    evidence = recent[recent["damp_evidence"] & recent["uprn"].isin(current_homes)]
    if evidence.empty:
        return pd.DataFrame(columns=list(ALERT_TYPES))
    grouped = evidence.groupby("uprn")
    alerts = pd.DataFrame(
        {
            "first_evidence_month": grouped["month"].min().dt.start_time.dt.date,
            "last_evidence_month": grouped["month"].max().dt.start_time.dt.date,
            "damp_sensor_months": grouped["damp_sensor_month"].sum().astype(int),
            "damp_mould_repairs": grouped["damp_mould_repairs"].sum().astype(int),
            "ward_name": grouped["ward_name"].last(),
            "lsoa_code": grouped["lsoa_code"].last(),
        }
    ).reset_index()
    alerts["evidence"] = np.select(
        [
            (alerts["damp_sensor_months"] > 0) & (alerts["damp_mould_repairs"] > 0),
            alerts["damp_sensor_months"] > 0,
        ],
        ["sensor and repairs", "sensor"],
        default="repairs",
    )
    alerts["as_of_month"] = pd.Period(ordinal=int(latest), freq="M").start_time.date()
    return alerts[list(ALERT_TYPES)].sort_values(
        ["last_evidence_month", "uprn"], ascending=[False, True]
    )
