"""The knobs of the demo region: size, seed, period, identity noise, delivery noise, effects."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

DEFAULT_RESIDENTS = 20_000
DEFAULT_SEED = 20261125


@dataclass(frozen=True)
class IdentityNoise:
    """Per-record rates of the errors that make linkage hard (each body adds its own quirks)."""

    typo: float = 0.02  # a letter dropped, doubled or swapped in a name
    nickname: float = 0.03  # "Bill" for William
    swapped_names: float = 0.005  # given and family name in each other's fields
    transposed_dob: float = 0.005  # day and month swapped (when both are <= 12)
    missing_field: float = 0.02  # postcode, date of birth or address left empty
    nhs_missing: float = 0.10  # NHS number not recorded (bodies that hold one)
    nhs_mistyped: float = 0.02  # one digit wrong, so the check digit usually fails
    duplicate_registration: float = 0.01  # a person given a second local id by a body


@dataclass(frozen=True)
class DeliveryNoise:
    """Rates per (body, entity, month) extract, except corrupt_row which is per row."""

    late: float = 0.03
    duplicate: float = 0.02
    corrected: float = 0.02
    corrupt_file: float = 0.01
    corrupt_row: float = 0.002


@dataclass(frozen=True)
class PlantedEffects:
    """Effects of known size, written to effects.json and measured back from the ground truth."""

    # A new betting premises multiplies the monthly hazard of financial-hardship onset for
    # households living within betting_radius_m, from betting_lag_months after it opens.
    betting_rate_ratio: float = 2.0
    betting_lag_months: int = 3
    betting_radius_m: float = 500.0
    betting_openings_per_10k_residents: float = 1.5
    # Damp present in a home for at least damp_sustained_months multiplies its residents'
    # monthly hazard of a respiratory A&E attendance.
    damp_rate_ratio: float = 2.5
    damp_sustained_months: int = 2
    # Children in families under strain may enter an escalation: for escalation_months they
    # show up at police (domestic abuse), A&E (injury) and school (absence), then are referred
    # and most get a child protection plan.
    escalation_hazard: float = 0.006
    escalation_months: int = 4
    plan_after_escalation: float = 0.85
    pattern_window_months: int = 6


@dataclass(frozen=True)
class RegionConfig:
    residents: int = DEFAULT_RESIDENTS
    seed: int = DEFAULT_SEED
    months: int = 24
    start: str = "2024-01"  # first month covered (YYYY-MM)
    sensor_share: float = 0.02  # share of social tenancies with a damp/humidity sensor
    max_sensors: int = 200  # a pilot programme: caps sensor volume for very large regions
    shared_address_share: float = 0.02  # homes shared by two households (HMOs)
    twin_share: float = 0.03  # of sibling pairs at the start (half that among new births)
    identity: IdentityNoise = field(default_factory=IdentityNoise)
    delivery: DeliveryNoise = field(default_factory=DeliveryNoise)
    effects: PlantedEffects = field(default_factory=PlantedEffects)

    def __post_init__(self) -> None:
        if self.residents < 200:
            raise ValueError("a region needs at least 200 residents")
        if self.months < 1:
            raise ValueError("months must be at least 1")
        self.start_date  # noqa: B018 (validates the format)

    @property
    def start_date(self) -> date:
        year, month = self.start.split("-")
        return date(int(year), int(month), 1)

    @classmethod
    def from_env(cls, **overrides) -> RegionConfig:
        values = {
            "residents": int(os.environ.get("JIGSAW_DEMO_RESIDENTS", DEFAULT_RESIDENTS)),
            "seed": int(os.environ.get("JIGSAW_DEMO_SEED", DEFAULT_SEED)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@lru_cache(maxsize=8192)
def month_start(config: RegionConfig, m: int) -> date:
    """First day of month index m (0 = config.start); m may be negative or past the end."""
    start = config.start_date
    total = start.year * 12 + start.month - 1 + m
    return date(total // 12, total % 12 + 1, 1)


def period(config: RegionConfig, m: int) -> str:
    return month_start(config, m).strftime("%Y-%m")
