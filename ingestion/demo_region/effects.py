"""Measure the planted effects back from the ground truth files alone.

The generator calls this to write the measured sizes into effects.json; tests call it to
show each effect is there. Only the truth folder is read, never the simulator's state.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

from ingestion.demo_region.config import PlantedEffects

PATTERN_AGENCIES = ("police", "acute_trust", "schools")
PLAN_HORIZON_MONTHS = 3


def month_number(text: str) -> int | None:
    if not text:
        return None
    year, month = text.split("-")[:2]
    return int(year) * 12 + int(month) - 1


def _read(path: Path):
    with open(path, newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def rate_ratio(events_a: int, time_a: int, events_b: int, time_b: int) -> dict:
    """Rate ratio of group a over group b with a 95% interval (log-normal approximation)."""
    result = {
        "events_exposed": events_a,
        "time_exposed": time_a,
        "events_unexposed": events_b,
        "time_unexposed": time_b,
        "rate_ratio": None,
        "ci95": None,
    }
    if min(events_a, events_b, time_a, time_b) <= 0:
        return result
    ratio = (events_a / time_a) / (events_b / time_b)
    se = math.sqrt(1 / events_a + 1 / events_b)
    result["rate_ratio"] = round(ratio, 4)
    result["ci95"] = [round(ratio * math.exp(-1.96 * se), 4), round(ratio * math.exp(1.96 * se), 4)]
    return result


def _overlap(lo: int, hi: int, a: int, b: int) -> int:
    return max(0, min(hi, b) - max(lo, a) + 1)


def measure_damp(truth: Path, effects: PlantedEffects) -> dict:
    damp_since = {}
    for row in _read(truth / "properties.csv"):
        since = month_number(row["damp_since_period"])
        if since is not None:
            damp_since[row["uprn"]] = since + effects.damp_sustained_months
    exposed_time = unexposed_time = 0
    for row in _read(truth / "residence.csv"):
        lo, hi = month_number(row["from_period"]), month_number(row["to_period"])
        total = hi - lo + 1
        exposed = _overlap(lo, hi, damp_since.get(row["uprn"], 10**9), 10**9)
        exposed_time += exposed
        unexposed_time += total - exposed
    exposed_events = unexposed_events = 0
    for row in _read(truth / "events.csv"):
        if row["body"] == "acute_trust" and row["kind"] == "respiratory":
            if month_number(row["period"]) >= damp_since.get(row["uprn"], 10**9):
                exposed_events += 1
            else:
                unexposed_events += 1
    result = rate_ratio(exposed_events, exposed_time, unexposed_events, unexposed_time)
    result["definition"] = (
        "respiratory A&E attendances per person-month, living in a home "
        f"damp for at least {effects.damp_sustained_months} months vs not"
    )
    result["planted_rate_ratio"] = effects.damp_rate_ratio
    return result


def measure_betting(truth: Path, effects: PlantedEffects) -> dict:
    opened, exposed_from = {}, {}
    for row in _read(truth / "properties.csv"):
        if row["betting_opened_period"]:
            opened[row["uprn"]] = month_number(row["betting_opened_period"])
            exposed_from[row["uprn"]] = month_number(row["betting_exposed_from_period"])
    busy: dict[str, list[tuple[int, int]]] = defaultdict(list)  # months not at risk
    onsets: list[tuple[str, str, int]] = []
    for row in _read(truth / "events.csv"):
        if row["kind"] in ("hardship_onset", "hardship_at_start"):
            start, end = month_number(row["period"]), month_number(row["end_period"])
            first_busy = start + 1 if row["kind"] == "hardship_onset" else start
            busy[row["household_id"]].append((first_busy, end))
            if row["kind"] == "hardship_onset":
                onsets.append((row["household_id"], row["uprn"], start))
    before_time = after_time = 0
    for row in _read(truth / "households.csv"):
        uprn = row["uprn"]
        if uprn not in opened:
            continue
        lo, hi = month_number(row["from_period"]), month_number(row["to_period"])
        windows = (
            (lo, min(hi, opened[uprn] - 1), "before"),
            (max(lo, exposed_from[uprn]), hi, "after"),
        )
        for a, b, which in windows:
            if b < a:
                continue
            months = b - a + 1
            for x, y in busy.get(row["household_id"], []):
                months -= _overlap(a, b, x, y)
            if which == "before":
                before_time += max(0, months)
            else:
                after_time += max(0, months)
    before = after = 0
    for _, uprn, m in onsets:
        if uprn not in opened:
            continue
        if m < opened[uprn]:
            before += 1
        elif m >= exposed_from[uprn]:
            after += 1
    result = rate_ratio(after, after_time, before, before_time)
    result["definition"] = (
        "new financial hardship (council tax support, arrears or housing benefit) per "
        f"household-month at risk, within {effects.betting_radius_m:.0f} m of a betting premises "
        f"opened in the period: from {effects.betting_lag_months} months after opening vs before "
        "it opened"
    )
    result["planted_rate_ratio"] = effects.betting_rate_ratio
    return result


def measure_pattern(truth: Path, effects: PlantedEffects) -> dict:
    window = effects.pattern_window_months
    dob = {}
    for row in _read(truth / "people.csv"):
        dob[row["person_id"]] = month_number(row["date_of_birth"])
    contacts: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    plans: dict[str, list[int]] = defaultdict(list)
    first = last = None
    for row in _read(truth / "events.csv"):
        m = month_number(row["period"])
        first = m if first is None else min(first, m)
        last = m if last is None else max(last, m)
        person = row["person_id"]
        if not person:
            continue
        body = row["body"]
        if body == "childrens_social_care" and row["entity"] == "child_protection_plans":
            plans[person].append(m)
        elif body in PATTERN_AGENCIES and (
            body != "schools" or row["kind"] in ("persistent_absence", "exclusion")
        ):
            contacts[person][m].add(body)

    def pattern(person: str, m: int) -> bool:
        seen: set[str] = set()
        for k in range(m - window + 1, m + 1):
            seen |= contacts.get(person, {}).get(k, set())
        return len(seen) >= 2

    preceded = sum(1 for p, starts in plans.items() for s in starts if pattern(p, s - 1))
    total_plans = sum(len(s) for s in plans.values())
    counts = {True: [0, 0], False: [0, 0]}  # pattern -> [child-months, followed by a plan]
    if first is not None:
        for row in _read(truth / "residence.csv"):
            person = row["person_id"]
            born = dob[person]
            lo = max(month_number(row["from_period"]), first + window - 1)
            hi = min(month_number(row["to_period"]), last - PLAN_HORIZON_MONTHS)
            starts = plans.get(person, [])
            for m in range(lo, hi + 1):
                if not 12 <= m - born < 18 * 12:
                    continue
                flag = person in contacts and pattern(person, m)
                counts[flag][0] += 1
                if any(m < s <= m + PLAN_HORIZON_MONTHS for s in starts):
                    counts[flag][1] += 1
    result = rate_ratio(counts[True][1], counts[True][0], counts[False][1], counts[False][0])
    result["definition"] = (
        f"child protection plan starting within {PLAN_HORIZON_MONTHS} months of a child-month "
        f"with contacts from at least two of {', '.join(PATTERN_AGENCIES)} (schools: persistent "
        f"absence or exclusion) in the last {window} months vs child-months without"
    )
    result["plans"] = total_plans
    result["plans_preceded_by_pattern"] = preceded
    result["share_of_plans_preceded"] = round(preceded / total_plans, 4) if total_plans else None
    result["planted_plan_after_escalation"] = effects.plan_after_escalation
    return result


def measure_effects(truth: Path, effects: PlantedEffects | None = None) -> dict:
    effects = effects or PlantedEffects()
    return {
        "damp_respiratory": measure_damp(truth, effects),
        "betting_hardship": measure_betting(truth, effects),
        "multi_agency_pattern": measure_pattern(truth, effects),
    }
