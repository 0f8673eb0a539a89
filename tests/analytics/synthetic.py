"""Small synthetic panels with an effect of known size, for the estimators' tests."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd


def month_starts(months: int, start: date = date(2024, 1, 1)) -> list[date]:
    return [
        date(start.year + (start.month - 1 + m) // 12, (start.month - 1 + m) % 12 + 1, 1)
        for m in range(months)
    ]


def hardship_panel(
    rate_ratio: float,
    lag: int = 3,
    homes: int = 6000,
    months: int = 24,
    treated_share: float = 0.3,
    seed: int = 7,
) -> pd.DataFrame:
    """Rows shaped like marts.hardship_by_property_month: treated homes (within 300 m of a
    premises opening in month 6 to 14) have their onset hazard multiplied by ``rate_ratio``
    from ``lag`` months after the opening; every home shares a falling calendar trend and
    deprived (treated) homes start from a higher hazard, so a naive comparison is biased."""
    rng = np.random.default_rng(seed)
    starts = month_starts(months)
    treated = rng.random(homes) < treated_share
    distance = np.where(treated, rng.uniform(50, 300, homes), rng.uniform(1500, 4000, homes))
    opened = rng.integers(6, 15, homes)
    base = np.where(treated, 0.02, 0.012) * rng.uniform(0.5, 1.5, homes)
    rows = []
    for h in range(homes):
        busy_until = -1
        for m in range(months):
            trend = 1.6 - 0.6 * m / months  # a caseload that falls over the period
            hazard = base[h] * trend
            if treated[h] and m >= opened[h] + lag:
                hazard *= rate_ratio
            if m <= busy_until:
                in_hardship = True
            elif rng.random() < hazard:
                busy_until = m + int(rng.integers(2, 8))
                in_hardship = True
            else:
                in_hardship = False
            rows.append(
                (
                    f"H{h:05d}",
                    starts[m],
                    in_hardship,
                    round(float(distance[h]), 1),
                    int(m - opened[h]),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "property_key",
            "month_start",
            "household_in_hardship",
            "nearest_new_premises_distance_m",
            "months_since_nearest_new_premises_opened",
        ],
    )


def damp_panel(
    rate_ratio: float, homes: int = 1500, months: int = 24, damp_share: float = 0.25, seed: int = 11
) -> pd.DataFrame:
    """Rows shaped like marts.damp_evidence_by_property_month. A quarter of homes turn damp (some
    before the period); their residents' respiratory attendance rate is multiplied by
    ``rate_ratio`` from 2 months after. Damp shows as damp and mould repairs (12 % a month) or,
    in homes with a sensor, as damp days; dry homes with a sensor show a few humid days."""
    rng = np.random.default_rng(seed)
    starts = month_starts(months)
    damp_since = np.where(rng.random(homes) < damp_share, rng.integers(-24, months, homes), 10**6)
    sensor = rng.random(homes) < 0.2
    size = rng.integers(1, 6, homes)
    rows = []
    for h in range(homes):
        for m in range(months):
            is_damp = m >= damp_since[h]
            exposed = m - damp_since[h] >= 2
            rate = 0.01 * size[h] * (rate_ratio if exposed else 1.0)
            days = 28 if sensor[h] else 0
            damp_days = (
                int(rng.integers(20, 29))
                if (sensor[h] and is_damp)
                else int(rng.integers(0, 4) if sensor[h] else 0)
            )
            rows.append(
                (
                    f"U{h:05d}",
                    starts[m],
                    int(size[h]),
                    days,
                    damp_days,
                    int(is_damp and rng.random() < 0.12),
                    int(rng.poisson(rate)),
                    "Ward A" if h % 2 else "Ward B",
                    "E01000001",
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "uprn",
            "month_start",
            "household_size",
            "sensor_days",
            "damp_days",
            "damp_mould_repairs",
            "respiratory_attendances",
            "ward_name",
            "lsoa_code",
        ],
    )


def early_intervention_features(
    children: int = 3000, months: int = 24, seed: int = 5
) -> pd.DataFrame:
    """Rows shaped like marts.early_intervention_features: a plan follows, within 3 months, a
    run of police, A&E and school contacts that the features show (and a weaker signal in
    deprived areas), so a model has something to learn."""
    rng = np.random.default_rng(seed)
    starts = month_starts(months)
    birth = rng.integers(2008, 2024, children)
    sex = rng.choice(["F", "M"], children)
    imd = rng.integers(1, 11, children)
    risk = rng.random(children) * (1.5 - imd / 10)
    rows = []
    for c in range(children):
        police = ae = school = np.zeros(months, dtype=int)
        escalation = rng.random() < 0.08 * risk[c] + 0.01
        onset = int(rng.integers(3, months)) if escalation else -100
        police = ((np.arange(months) >= onset) & (np.arange(months) < onset + 4)).astype(int)
        ae = police * (rng.random(months) < 0.6)
        school = police * (rng.random(months) < 0.5)
        noise = rng.random(months) < 0.03
        police = police | noise
        plan_month = onset + 4 if escalation and rng.random() < 0.85 else -100
        for m in range(months):
            window = slice(max(0, m - 5), m + 1)
            rows.append(
                {
                    "person_key": f"P{c:05d}",
                    "month_start": starts[m],
                    "sex_code": sex[c],
                    "age_years": starts[m].year - birth[c],
                    "household_persons": 3,
                    "imd_decile": int(imd[c]),
                    "contacts_month": int(police[m] + ae[m] + school[m]),
                    "contacts_12m": int(police[max(0, m - 11) : m + 1].sum()),
                    "bodies_12m": int(police[window].any()) + int(ae[window].any()),
                    "high_severity_contacts_12m": 0,
                    "police_contacts_12m": int(police[max(0, m - 11) : m + 1].sum()),
                    "domestic_abuse_incidents_12m": 0,
                    "childrens_social_care_contacts_12m": 0,
                    "adult_social_care_contacts_12m": 0,
                    "ae_attendances_12m": int(ae[max(0, m - 11) : m + 1].sum()),
                    "school_exclusions_12m": int(school[max(0, m - 11) : m + 1].sum()),
                    "arrears_contacts_12m": 0,
                    "school_attendance_rate": 0.95,
                    "unauthorised_absences_3m": 0,
                    "hardship_score": int(imd[c] <= 3),
                    "police_contacts_6m": int(police[window].sum()),
                    "ae_attendances_6m": int(ae[window].sum()),
                    "school_exclusions_6m": int(school[window].sum()),
                    "unauthorised_absences_6m": 0,
                    "child_protection_plans_12m": int(0 <= m - plan_month < 12),
                    "child_protection_plan_next_3_months": bool(m < plan_month <= m + 3),
                    "label_3m_is_complete": m + 3 <= months - 1,
                }
            )
    return pd.DataFrame(rows)
