"""What happens to the region's people each month, as each public body sees it.

Every body's rows come from the same simulated lives, so the jigsaw fits together: the child
a police officer records as a witness is the pupil whose absence rises and the patient seen
at A&E. Planted effects (betting premises, damp, escalation before child protection) are
drawn here with the sizes in config.PlantedEffects.
"""

from __future__ import annotations

import calendar
import math
from datetime import date, datetime, timedelta

import numpy as np

from ingestion.demo_region.clerks import Clerk, Quirks
from ingestion.demo_region.config import RegionConfig, month_start
from ingestion.demo_region.geography import NO_DAMP, PRIVATE_RENTED, SOCIAL, Geography
from ingestion.demo_region.names import BOOKMAKERS, PREMISES_WORDS
from ingestion.demo_region.population import FEMALE_SEX, Population
from ingestion.demo_region.truth import TruthWriter

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
NEVER = 10_000
PLAN_CATEGORIES = ("neglect", "emotional_abuse", "physical_abuse", "sexual_abuse", "multiple")
PLAN_CATEGORY_SHARES = (0.45, 0.35, 0.08, 0.04, 0.08)
HARDSHIP_MONTHS = (4, 16)  # a hardship spell lasts 4 to 15 months (numpy's high is exclusive)
HARDSHIP_BURN_IN_MONTHS = 36  # long enough for the caseload to settle before the period
HARDSHIP_STREAM = 7  # the hardship generator's stream, next to the seed


def at_least_one(chosen: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The rare-event floor: ``chosen`` (a boolean mask over candidates), with the candidate of
    highest ``weight`` added when nothing was chosen and some candidate has a weight above 0.

    A real body never has a month without a referral, an assessment, a child protection plan,
    an exclusion or an adult social care contact; a region scaled down to a few thousand
    residents would, and an extract table empty over a short run fails the raw gate that no
    table is empty. The choice uses no random draw, so a month that needs no floor is exactly
    what it was without one.
    """
    if chosen.any() or not len(weight) or weight.max() <= 0:
        return chosen
    chosen = chosen.copy()
    chosen[int(np.argmax(weight))] = True
    return chosen


def upn(number: int) -> str:
    """A unique pupil number: a check letter (modulus 23) then twelve digits."""
    digits = f"931{number:09d}"
    total = sum(int(d) * w for d, w in zip(digits, range(2, 14), strict=True))
    return UPN_LETTERS[total % 23] + digits


QUIRKS = {
    "childrens_social_care": Quirks("LCS{:06d}", 104_000),
    "adult_social_care": Quirks("ASC{:07d}", 2_100_000, holds_nhs=True),
    "revenues_benefits": Quirks("RB{:08d}", 30_500_000, abbreviate_streets=True),
    "housing_provider": Quirks("TEN-{:06d}", 200_000),
    "police": Quirks("N{:07d}", 5_000_000, swap_factor=4.0, upper_case_address=True),
    "acute_trust": Quirks("RX1{:07d}", 1_000_000, holds_nhs=True, abbreviate_streets=True),
    "schools": Quirks("{}", 0, nicknames=False),
}
SEX_CODES = {
    "childrens_social_care": ("M", "F", "U"),
    "adult_social_care": ("Male", "Female", "Unknown"),
    "acute_trust": ("1", "2", "9"),
    "police": ("M", "F", "X"),
    "schools": ("M", "F", None),
}
AE_OTHER_GROUPS = ("injury", "cardiac", "gastrointestinal", "mental_health", "self_harm", "other")
AE_OTHER_SHARES = (0.36, 0.08, 0.13, 0.07, 0.03, 0.33)
POLICE_TYPES = ("anti_social_behaviour", "violence", "theft", "criminal_damage", "public_order")
POLICE_SHARES = (0.32, 0.2, 0.2, 0.14, 0.14)
LICENCE_TYPES = (
    "pub",
    "restaurant",
    "off_licence",
    "late_night_refreshment",
    "betting_shop",
    "adult_gaming_centre",
)
LICENCE_SHARES = (0.3, 0.3, 0.15, 0.12, 0.09, 0.04)
REPAIR_OTHER = ("plumbing", "heating", "electrical", "roofing", "windows_doors", "other")
SCHOOL_DAYS_FACTOR = {
    1: 0.9,
    2: 0.85,
    3: 0.95,
    4: 0.7,
    5: 0.9,
    6: 1.0,
    7: 0.6,
    8: 0.0,
    9: 0.9,
    10: 0.85,
    11: 1.0,
    12: 0.7,
}


class World:
    def __init__(
        self,
        config: RegionConfig,
        geo: Geography,
        pop: Population,
        truth: TruthWriter,
        rng: np.random.Generator,
    ) -> None:
        self.config = config
        self.geo = geo
        self.pop = pop
        self.truth = truth
        self.rng = rng
        noise = config.identity
        self.clerks = {body: Clerk(body, q, noise, config.seed, pop) for body, q in QUIRKS.items()}
        self.schools_clerk = self.clerks["schools"]
        self.schools_clerk._new_id = self._new_upn  # UPNs carry a check letter
        self._upn_next = int(rng.integers(10_000_000, 20_000_000))
        self.counters: dict[str, int] = {}
        self.decile = geo.deprivation_decile()
        n_lsoa = len(geo.lsoas)
        self.primary_urn = [f"1{10_000 + i // 2:05d}" for i in range(n_lsoa)]
        self.secondary_urn = [f"1{40_000 + i // 5:05d}" for i in range(n_lsoa)]
        cap = pop.cap
        self.esc_start = np.full(cap, NEVER, np.int32)
        self.esc_end = np.full(cap, NEVER, np.int32)
        self.pending_plans: dict[int, list[tuple[int, date, str]]] = {}
        self._setup_hardship()
        self._setup_licences()
        self._setup_housing()

    # --- identifiers ----------------------------------------------------------------------

    def _new_upn(self) -> str:
        self._upn_next += int(self.rng.integers(1, 5))
        return upn(self._upn_next)

    def next_id(self, prefix: str, width: int = 7) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:0{width}d}"

    def random_time(self, m: int) -> datetime:
        start = month_start(self.config, m)
        days = calendar.monthrange(start.year, start.month)[1]
        seconds = int(self.rng.integers(0, days * 86_400))
        return datetime(start.year, start.month, start.day) + timedelta(seconds=seconds)

    def person_fields(self, body: str, person: int, m: int) -> dict:
        """The identity fields a body holds for a person, plus their current address."""
        clerk = self.clerks[body]
        reg = clerk.record(person, m)
        prop = int(self.pop.h_prop[self.pop.hh[person]])
        address, postcode = clerk.address(prop)
        codes = SEX_CODES.get(body)
        sex = None
        if codes:
            recorded = reg.sex
            if recorded is None and body == "schools":  # the school census always has it
                recorded = int(self.pop.sex[person])
            sex = codes[2] if recorded is None else codes[recorded]
        return {
            "ref": reg.local_id,
            "given": reg.given,
            "family": reg.family,
            "dob": reg.dob,
            "sex": sex,
            "nhs": reg.nhs,
            "address": address,
            "postcode": postcode,
            "uprn": self.geo.uprn[prop],
            "prop": prop,
        }

    # --- set-up of body state ---------------------------------------------------------------

    def _setup_hardship(self) -> None:
        # Hardship and the revenues and benefits extracts draw from a generator of their own, so
        # a change to them does not reshuffle every other body's records.
        self.hardship_rng = np.random.default_rng([self.config.seed, HARDSHIP_STREAM])
        pop, rng = self.pop, self.hardship_rng
        cap = len(pop.h_prop)
        self.hard_until = np.full(cap, -NEVER, np.int32)
        self.cts: dict[int, dict] = {}
        self.arrears: dict[int, dict] = {}
        self.hb: dict[int, dict] = {}
        # Hardship already under way when the period starts comes from running the same onset
        # hazard and spell lengths over HARDSHIP_BURN_IN_MONTHS before it, so the caseload
        # starts at the level the monthly process keeps it at. (Drawing it separately once
        # started far above that level, with every spell ending within 17 months: the
        # caseload then fell by three quarters over the first year and a half, a trend that
        # would drown any real effect.)
        households = pop.occupied_households()
        since = np.full(cap, -NEVER, np.int32)
        for m in range(-HARDSHIP_BURN_IN_MONTHS, 0):
            at_risk = households[self.hard_until[households] < m]
            starting = at_risk[rng.random(len(at_risk)) < self._onset_hazard(at_risk)]
            since[starting] = m
            self.hard_until[starting] = m + rng.integers(
                HARDSHIP_MONTHS[0], HARDSHIP_MONTHS[1], len(starting)
            )
        for h in households[self.hard_until[households] >= 0].tolist():
            self._start_hardship(h, int(since[h]), int(self.hard_until[h] - since[h]), record=False)
        # Planted: betting premises openings and which homes lie within reach of one.
        self.exposed_from = np.full(self.geo.n_properties, NEVER, np.int32)
        self.opened_at = np.full(self.geo.n_properties, NEVER, np.int32)

    def _setup_licences(self) -> None:
        geo, rng, config = self.geo, self.rng, self.config
        effects = config.effects
        commercial = list(range(geo.n_residential, geo.n_properties))
        order = rng.permutation(len(commercial)).tolist()
        commercial = [commercial[i] for i in order]
        n_openings = max(
            2, round(config.residents / 10_000 * effects.betting_openings_per_10k_residents)
        )
        n_openings = min(n_openings, len(commercial) // 3)
        self.licences: list[dict] = []
        n_existing = int(len(commercial) * 0.6)
        for prop in commercial[:n_existing]:
            kind = LICENCE_TYPES[int(rng.choice(len(LICENCE_TYPES), p=LICENCE_SHARES))]
            opened = date(1995, 1, 1) + timedelta(days=int(rng.integers(0, 10_500)))
            self.licences.append(self._licence(prop, kind, opened, -NEVER))
        lo = min(6, config.months // 3)
        hi = max(lo, config.months - effects.betting_lag_months - 6)
        self.betting_openings = []
        candidates = commercial[n_existing:]
        # Bookmakers seek out deprived high streets.
        candidates.sort(key=lambda p: (self.decile[geo.lsoa[p]], p))
        for k in range(n_openings):
            prop = candidates[k]
            m = int(rng.integers(lo, hi + 1))
            day = month_start(config, m) + timedelta(days=int(rng.integers(0, 27)))
            self.licences.append(self._licence(prop, "betting_shop", day, m))
            self.betting_openings.append((prop, m))
        for prop in candidates[n_openings : n_openings + max(1, config.months // 6)]:
            kind = LICENCE_TYPES[int(rng.choice(4))]
            m = int(rng.integers(0, config.months))
            day = month_start(config, m) + timedelta(days=int(rng.integers(0, 27)))
            self.licences.append(self._licence(prop, kind, day, m))
        radius2 = effects.betting_radius_m**2
        residential = slice(0, geo.n_residential)
        east, north = geo.easting[residential], geo.northing[residential]
        for prop, m in self.betting_openings:
            near = (east - geo.easting[prop]) ** 2 + (north - geo.northing[prop]) ** 2 <= radius2
            first = near & (m < self.opened_at[residential])
            self.opened_at[residential][first] = m
            self.exposed_from[residential][first] = m + effects.betting_lag_months

    def _licence(self, prop: int, kind: str, opened: date, m_open: int) -> dict:
        rng = self.rng
        if kind in ("betting_shop", "adult_gaming_centre"):
            name = BOOKMAKERS[int(rng.integers(len(BOOKMAKERS)))]
            holder = f"{name} Ltd"
        else:
            name = f"The {PREMISES_WORDS[int(rng.integers(len(PREMISES_WORDS)))]}"
            holder = f"{self.pop.names.given(int(rng.integers(2)))} {self.pop.names.family()}"
        number = f"PL/{opened.year}/{len(self.licences) + 1:05d}"
        return {
            "licence_number": number,
            "premises_name": name,
            "licence_type": kind,
            "licence_holder": holder,
            "prop": prop,
            "opening_date": opened,
            "opened_month": m_open,
            "status": "granted",
            "closed_month": NEVER,
        }

    def _setup_housing(self) -> None:
        pop, geo, rng, config = self.pop, self.geo, self.rng, self.config
        self.tenancy: dict[int, dict] = {}  # by property
        social_homes = [
            int(pop.h_prop[h])
            for h in pop.occupied_households().tolist()
            if geo.tenure[pop.h_prop[h]] == SOCIAL
        ]
        social_homes = sorted(set(social_homes))
        k = min(
            config.max_sensors,
            len(social_homes),
            max(
                1 if config.sensor_share > 0 else 0, round(config.sensor_share * len(social_homes))
            ),
        )
        damp = np.array([geo.damp_since[p] != NO_DAMP for p in social_homes], dtype=float)
        weights = 1.0 + 2.0 * damp  # programmes target homes with damp complaints
        chosen = (
            rng.choice(len(social_homes), size=k, replace=False, p=weights / weights.sum())
            if k and social_homes
            else []
        )
        self.sensors = []
        for j, i in enumerate(sorted(int(x) for x in chosen)):
            # The first sensor is in from the start, so no month's extract is empty.
            installed = 0 if j == 0 or rng.random() < 0.7 else int(rng.integers(1, 6))
            self.sensors.append(
                {
                    "serial": f"HS-{7_340_000 + j * 13:07d}",
                    "prop": social_homes[i],
                    "installed": installed,
                    "battery": float(rng.uniform(60, 100)),
                }
            )

    # --- hardship (revenues and benefits) -----------------------------------------------

    def _start_hardship(self, h: int, m: int, months: int, record: bool = True) -> None:
        pop, rng = self.pop, self.hardship_rng
        head = int(pop.h_head[h])
        self.hard_until[h] = m + months
        start = month_start(self.config, m) + timedelta(days=int(rng.integers(0, 27)))
        tenure = self.geo.tenure[pop.h_prop[h]]
        cts = rng.random() < 0.75
        arrears = rng.random() < 0.6 or not cts
        if cts:
            self.cts[h] = {
                "claim_ref": self.next_id("CTS", 7),
                "person": head,
                "start": start,
                "weekly": round(float(rng.uniform(4, 28)), 2),
            }
        if arrears:
            self.arrears[h] = {
                "account_ref": self.next_id("CT", 8),
                "person": head,
                "since": m,
                "balance": round(float(rng.uniform(80, 300)), 2),
            }
        if tenure in (SOCIAL, PRIVATE_RENTED) and rng.random() < 0.5:
            self.hb[h] = {
                "claim_ref": self.next_id("HB", 7),
                "person": head,
                "start": start,
                "weekly": round(float(rng.uniform(40, 160)), 2),
            }
        # Hardship already under way when the period starts is recorded too, so that
        # evaluation knows which households were not at risk of a new onset.
        self.truth.event(
            f"HARD-{h}-{m}",
            "revenues_benefits",
            "hardship",
            max(m, 0),
            start,
            head,
            h,
            int(pop.h_prop[h]),
            "hardship_onset" if record else "hardship_at_start",
            m + months,
        )

    def _onset_hazard(self, households: np.ndarray) -> np.ndarray:
        """Monthly chance that a household not in hardship falls into it (before any effect)."""
        return 0.002 + 0.02 * self.pop.h_risk[households]

    def revenues(self, m: int) -> dict[str, list[dict]]:
        pop, rng, effects = self.pop, self.hardship_rng, self.config.effects
        households = pop.occupied_households()
        at_risk = households[self.hard_until[households] < m]
        props = pop.h_prop[at_risk]
        hazard = self._onset_hazard(at_risk)
        hazard = np.where(
            m >= self.exposed_from[props], hazard * effects.betting_rate_ratio, hazard
        )
        for h in at_risk[rng.random(len(at_risk)) < hazard].tolist():
            self._start_hardship(h, m, int(rng.integers(*HARDSHIP_MONTHS)))
        end = month_start(self.config, m + 1) - timedelta(days=1)
        rows = {"council_tax_support": [], "arrears": [], "housing_benefit": []}
        for store, entity in ((self.cts, "council_tax_support"), (self.hb, "housing_benefit")):
            for h in list(store):
                claim = store[h]
                ending = self.hard_until[h] <= m or pop.h_prop[h] < 0
                person = claim["person"]
                if not pop.alive[person] or pop.h_prop[h] < 0:
                    del store[h]
                    continue
                f = self.person_fields("revenues_benefits", person, m)
                row = {
                    "claim_ref": claim["claim_ref"],
                    "claimant_id": f["ref"],
                    "forename": f["given"],
                    "surname": f["family"],
                    "date_of_birth": f["dob"],
                    "address": f["address"],
                    "postcode": f["postcode"],
                    "uprn": f["uprn"],
                }
                if entity == "council_tax_support":
                    row.update(
                        nino=self._nino(person),
                        award_start=claim["start"],
                        weekly_award=claim["weekly"],
                        status="ended"
                        if ending
                        else ("suspended" if rng.random() < 0.02 else "active"),
                    )
                else:
                    row.update(
                        claim_start=claim["start"],
                        weekly_amount=claim["weekly"],
                        status="ended"
                        if ending
                        else ("suspended" if rng.random() < 0.02 else "in_payment"),
                    )
                rows[entity].append(row)
                if ending:
                    del store[h]
        stages = (
            "reminder",
            "final_notice",
            "summons",
            "liability_order",
            "liability_order",
            "enforcement_agent",
        )
        for h in list(self.arrears):
            account = self.arrears[h]
            person = account["person"]
            if self.hard_until[h] <= m or not pop.alive[person] or pop.h_prop[h] < 0:
                del self.arrears[h]
                continue
            months_in = max(1, m - account["since"] + 1)
            account["balance"] = round(account["balance"] + float(rng.uniform(60, 160)), 2)
            f = self.person_fields("revenues_benefits", person, m)
            rows["arrears"].append(
                {
                    "account_ref": account["account_ref"],
                    "claimant_id": f["ref"],
                    "forename": f["given"],
                    "surname": f["family"],
                    "date_of_birth": f["dob"],
                    "address": f["address"],
                    "postcode": f["postcode"],
                    "uprn": f["uprn"],
                    "balance": account["balance"],
                    "months_in_arrears": months_in,
                    "recovery_stage": stages[min(months_in, len(stages)) - 1],
                    "snapshot_date": end,
                }
            )
        return rows

    def _nino(self, person: int) -> str:
        letters = "ABCEGHJKLMNPRSTWXYZ"
        n = person * 7919 + 12345
        return (
            letters[n % 19]
            + letters[(n // 19) % 19]
            + f"{(person * 104729) % 1_000_000:06d}"
            + "ABCD"[person % 4]
        )

    # --- the monthly round of contacts --------------------------------------------------

    def month(self, m: int) -> dict[str, dict[str, list[dict]]]:
        start = month_start(self.config, m)
        mid = start + timedelta(days=14)
        pop = self.pop
        people = pop.living()
        age = pop.ages(people, mid)
        self._escalations(m, people, age)
        out = {
            "acute_trust": {"ae_attendances": self.acute(m, people, age)},
            "police": {"incidents": self.police(m, people, age)},
            "schools": self.schools(m, people, age),
            "adult_social_care": {"care_contacts": self.adult_care(m, people, age)},
            "revenues_benefits": self.revenues(m),
            "housing_provider": self.housing(m),
            "licensing": {"premises_licences": self.licensing(m)},
        }
        out["childrens_social_care"] = self.childrens(m, people, age)
        return out

    def escalating(self, people: np.ndarray, m: int) -> np.ndarray:
        return (self.esc_start[people] <= m) & (m < self.esc_end[people])

    def _escalations(self, m: int, people: np.ndarray, age: np.ndarray) -> None:
        effects = self.config.effects
        risk = self.pop.h_risk[self.pop.hh[people]]
        eligible = (age < 16) & (age >= 1) & (risk > 0.25) & (self.esc_start[people] == NEVER)
        hazard = np.where(eligible, effects.escalation_hazard * risk * 3, 0.0)
        starting = people[self.rng.random(len(people)) < hazard]
        self.esc_start[starting] = m
        self.esc_end[starting] = m + effects.escalation_months
        for p in starting.tolist():
            self.truth.event(
                f"ESC-{p}",
                "truth",
                "escalation",
                m,
                None,
                p,
                int(self.pop.hh[p]),
                None,
                "escalation",
                m + effects.escalation_months - 1,
            )

    # --- acute trust ------------------------------------------------------------------------

    def acute(self, m: int, people: np.ndarray, age: np.ndarray) -> list[dict]:
        rng, effects = self.rng, self.config.effects
        base = np.select([age < 5, age < 18, age < 65, age < 80], [0.03, 0.014, 0.018, 0.028], 0.05)
        esc = self.escalating(people, m)
        base = base + np.where(esc, 0.3, 0.0)
        resp = np.select([age < 5, age < 65], [0.006, 0.0015], 0.006)
        props = self.pop.property_of(people)
        damp_since = self.geo.damp_since[props]
        damp = (damp_since != NO_DAMP) & (m - damp_since >= effects.damp_sustained_months)
        resp = np.where(damp, resp * effects.damp_rate_ratio, resp)
        rows = []
        seen_other = people[rng.random(len(people)) < base]
        seen_resp = people[rng.random(len(people)) < resp]
        visits = [(int(p), "") for p in seen_other] + [(int(p), "respiratory") for p in seen_resp]
        visits.sort()
        for p, group in visits:
            if not group:
                if self.esc_start[p] <= m < self.esc_end[p] and rng.random() < 0.7:
                    group = "injury"
                else:
                    group = AE_OTHER_GROUPS[int(rng.choice(6, p=AE_OTHER_SHARES))]
            f = self.person_fields("acute_trust", p, m)
            when = self.random_time(m)
            attendance = self.next_id("AE", 8)
            rows.append(
                {
                    "attendance_id": attendance,
                    "mrn": f["ref"],
                    "nhs_number": f["nhs"],
                    "forename": f["given"],
                    "surname": f["family"],
                    "date_of_birth": f["dob"],
                    "sex": f["sex"],
                    "address": f["address"],
                    "postcode": f["postcode"],
                    "arrived_at": when,
                    "diagnosis_group": group,
                    "acuity": int(rng.choice(5, p=[0.03, 0.17, 0.45, 0.3, 0.05])) + 1,
                    "disposal": ("admitted", "discharged", "referred", "left_before_seen")[
                        int(rng.choice(4, p=[0.25, 0.6, 0.1, 0.05]))
                    ],
                }
            )
            self.truth.event(
                attendance,
                "acute_trust",
                "ae_attendances",
                m,
                when.date(),
                p,
                int(self.pop.hh[p]),
                f["prop"],
                group,
            )
        return rows

    # --- police -----------------------------------------------------------------------------

    def police(self, m: int, people: np.ndarray, age: np.ndarray) -> list[dict]:
        rng, pop = self.rng, self.pop
        rows: list[dict] = []
        risk = pop.h_risk[pop.hh[people]]
        adults = (age >= 16) & (age < 75)
        general = people[adults & (rng.random(len(people)) < 0.004 * (0.5 + 3 * risk))]
        for p in general.tolist():
            kind = POLICE_TYPES[int(rng.choice(5, p=POLICE_SHARES))]
            role = ("victim", "suspect", "witness", "reporting_person")[
                int(rng.choice(4, p=[0.4, 0.35, 0.15, 0.1]))
            ]
            involved = [(p, role)]
            if rng.random() < 0.4:
                other = int(people[int(rng.integers(len(people)))])
                if other != p and age[np.searchsorted(people, other)] >= 12:
                    involved.append((other, "suspect" if role == "victim" else "victim"))
            self._incident(rows, m, kind, involved, "standard")
        # Domestic abuse: households under strain with two adults; escalating families often.
        households = pop.occupied_households()
        hazard = 0.01 * pop.h_risk[households] ** 2
        esc_children = people[self.escalating(people, m)]
        esc_households = set(pop.hh[esc_children].tolist())
        chosen = set(households[rng.random(len(households)) < hazard].tolist())
        chosen |= {h for h in esc_households if rng.random() < 0.6}
        for h in sorted(chosen):
            members = pop.members[h]
            grown = [p for p in members if (pop.dob[p] < pop.dob[pop.h_head[h]] + 15 * 365)]
            if len(grown) < 2:
                continue
            victim = next((p for p in grown if pop.sex[p] == FEMALE_SEX), grown[0])
            suspect = next(p for p in grown if p != victim)
            involved = [(victim, "victim"), (suspect, "suspect")]
            for child in members:
                if child in grown:
                    continue
                witness_rate = 0.8 if self.esc_start[child] <= m < self.esc_end[child] else 0.2
                if rng.random() < witness_rate:
                    involved.append((child, "witness"))
            grade = ("standard", "medium", "high")[int(rng.choice(3, p=[0.5, 0.35, 0.15]))]
            self._incident(rows, m, "domestic_abuse", involved, grade)
        teens = (age >= 12) & (age < 18)
        esc = self.escalating(people, m)
        missing = people[teens & (rng.random(len(people)) < np.where(esc, 0.15, 0.001))]
        for p in missing.tolist():
            h = int(pop.hh[p])
            involved = [(p, "missing_person")]
            if pop.h_head[h] != p:
                involved.append((int(pop.h_head[h]), "reporting_person"))
            self._incident(rows, m, "missing_person", involved, "medium")
        return rows

    def _incident(
        self, rows: list[dict], m: int, kind: str, involved: list[tuple[int, str]], grade: str
    ) -> None:
        number = self.next_id(f"INC{month_start(self.config, m):%y}", 6)
        when = self.random_time(m).replace(second=0)
        seen = set()
        for p, role in involved:
            if p in seen:
                continue
            seen.add(p)
            f = self.person_fields("police", p, m)
            rows.append(
                {
                    "incident_no": number,
                    "nominal_id": f["ref"],
                    "surname": f["family"].upper(),
                    "forename": f["given"].upper(),
                    "dob": f["dob"],
                    "sex": f["sex"],
                    "address": f["address"],
                    "postcode": f["postcode"],
                    "incident_at": when,
                    "incident_type": kind,
                    "involvement": role,
                    "risk_grade": grade,
                }
            )
            self.truth.event(
                f"{number}/{f['ref']}",
                "police",
                "incidents",
                m,
                when.date(),
                p,
                int(self.pop.hh[p]),
                f["prop"],
                f"{kind}:{role}",
            )

    # --- schools ------------------------------------------------------------------------

    def schools(self, m: int, people: np.ndarray, age: np.ndarray) -> dict[str, list[dict]]:
        rng, pop, geo = self.rng, self.pop, self.geo
        start = month_start(self.config, m)
        weekdays = sum(
            1
            for d in range(calendar.monthrange(start.year, start.month)[1])
            if (start + timedelta(days=d)).weekday() < 5
        )
        possible = int(round(weekdays * 2 * SCHOOL_DAYS_FACTOR[start.month]))
        attendance: list[dict] = []
        exclusions: list[dict] = []
        if possible == 0:
            return {"attendance": attendance, "exclusions": exclusions}
        pupils_mask = (age >= 5) & (age < 16)
        pupils = people[pupils_mask]
        pupil_age = age[pupils_mask]
        risk = pop.h_risk[pop.hh[pupils]]
        esc = self.escalating(pupils, m)
        p_unauth = np.where(esc, 0.3, 0.004 + 0.05 * risk**2)
        unauth = rng.binomial(possible, p_unauth)
        auth = rng.binomial(possible, 0.035, size=len(pupils))
        suspend_chance = np.where(pupil_age >= 11, np.where(esc, 0.08, 0.002 + 0.01 * risk), 0.0)
        suspend = at_least_one(rng.random(len(pupils)) < suspend_chance, suspend_chance)
        period_text = start.strftime("%Y-%m")
        for k, p in enumerate(pupils.tolist()):
            f = self.person_fields("schools", p, m)
            lsoa = int(geo.lsoa[f["prop"]])
            urn = self.secondary_urn[lsoa] if pupil_age[k] >= 11 else self.primary_urn[lsoa]
            u = int(min(unauth[k], possible))
            a = int(min(auth[k], possible - u))
            attendance.append(
                {
                    "upn": f["ref"],
                    "legal_forename": f["given"],
                    "legal_surname": f["family"],
                    "dob": f["dob"],
                    "gender": f["sex"],
                    "postcode": f["postcode"],
                    "address": f["address"],
                    "school_urn": urn,
                    "month": period_text,
                    "sessions_possible": possible,
                    "sessions_attended": possible - u - a,
                    "unauthorised_absences": u,
                }
            )
            if u >= 0.15 * possible:
                self.truth.event(
                    f"ABS-{f['ref']}-{period_text}",
                    "schools",
                    "attendance",
                    m,
                    None,
                    p,
                    int(pop.hh[p]),
                    f["prop"],
                    "persistent_absence",
                )
            if suspend[k]:
                exclusion = self.next_id("EX", 6)
                permanent = rng.random() < 0.03
                day = start + timedelta(days=int(rng.integers(0, 27)))
                while day.weekday() >= 5:
                    day -= timedelta(days=1)
                exclusions.append(
                    {
                        "exclusion_id": exclusion,
                        "upn": f["ref"],
                        "school_urn": urn,
                        "start_date": day,
                        "exclusion_type": "permanent" if permanent else "suspension",
                        "sessions": None if permanent else int(rng.integers(1, 11)),
                        "reason": (
                            "persistent_disruption",
                            "physical_assault",
                            "verbal_abuse",
                            "drugs",
                            "damage",
                            "other",
                        )[int(rng.integers(6))],
                    }
                )
                self.truth.event(
                    exclusion,
                    "schools",
                    "exclusions",
                    m,
                    day,
                    p,
                    int(pop.hh[p]),
                    f["prop"],
                    "exclusion",
                )
        return {"attendance": attendance, "exclusions": exclusions}

    # --- children's social care -----------------------------------------------------------

    def childrens(self, m: int, people: np.ndarray, age: np.ndarray) -> dict[str, list[dict]]:
        rng, pop, effects = self.rng, self.pop, self.config.effects
        start = month_start(self.config, m)
        month_end = month_start(self.config, m + 1) - timedelta(days=1)
        children = people[age < 18]
        risk = pop.h_risk[pop.hh[children]]
        referral_chance = 0.0015 + 0.01 * risk
        drawn = rng.random(len(children)) < referral_chance
        escalating_now = self.esc_end[children] == m
        # (drawn | escalating) & (drawn | not escalating) is drawn, plus the floor's child.
        floored = at_least_one(drawn | escalating_now, referral_chance)
        background = children[floored & (drawn | ~escalating_now)]
        escalated = children[escalating_now]
        referred = sorted(
            {(int(p), False) for p in background} | {(int(p), True) for p in escalated}
        )
        referrals, assessments = [], []
        plans = []
        # The floor's assessment: the month's most worrying referral is always assessed.
        risk_of = dict(zip(children.tolist(), risk.tolist(), strict=True))
        most_worrying = max(referred, key=lambda r: (r[1], risk_of[r[0]]), default=None)
        assessed: list[tuple[bool, float, int, dict, date, int | None]] = []  # for the plan floor
        for p, pattern in referred:
            f = self.person_fields("childrens_social_care", p, m)
            received = start + timedelta(days=int(rng.integers(0, 27)))
            referral = self.next_id("REF-", 6)
            source = (
                ("police", "school", "health")[int(rng.integers(3))]
                if pattern
                else ("police", "school", "health", "self_family", "local_authority", "other")[
                    int(rng.choice(6, p=[0.28, 0.2, 0.15, 0.1, 0.12, 0.15]))
                ]
            )
            need = (
                "abuse_neglect"
                if pattern
                else (
                    "abuse_neglect",
                    "family_dysfunction",
                    "family_stress",
                    "parental_illness",
                    "socially_unacceptable_behaviour",
                    "absent_parenting",
                    "other",
                )[int(rng.choice(7, p=[0.3, 0.2, 0.15, 0.08, 0.1, 0.05, 0.12]))]
            )
            referrals.append(
                {
                    "referral_id": referral,
                    "child_id": f["ref"],
                    "forename": f["given"],
                    "surname": f["family"],
                    "dob": f["dob"],
                    "gender": f["sex"],
                    "address": f["address"],
                    "postcode": f["postcode"],
                    "uprn": f["uprn"] if rng.random() < 0.9 else None,
                    "referral_date": received,
                    "referral_source": source,
                    "primary_need": need,
                }
            )
            self.truth.event(
                referral,
                "childrens_social_care",
                "referrals",
                m,
                received,
                p,
                int(pop.hh[p]),
                f["prop"],
                "escalation" if pattern else "background",
            )
            not_assessed = rng.random() > 0.85
            if not pattern and not_assessed and (p, pattern) != most_worrying:
                continue
            begun = received + timedelta(days=int(rng.integers(0, 5)))
            ended = begun + timedelta(days=int(rng.integers(5, 40)))
            if pattern:
                outcome = "strategy_discussion"
                plan = rng.random() < effects.plan_after_escalation
            else:
                outcome = (
                    "no_further_action",
                    "child_in_need",
                    "early_help",
                    "strategy_discussion",
                )[int(rng.choice(4, p=[0.36, 0.3, 0.26, 0.08]))]
                plan = outcome == "strategy_discussion" and rng.random() < 0.4
            assessment = {
                "assessment_id": self.next_id("ASM-", 6),
                "referral_id": referral,
                "child_id": f["ref"],
                "start_date": begun,
                "end_date": ended if ended <= month_end else None,
                "outcome": outcome if ended <= month_end else "open",
            }
            assessments.append(assessment)
            plan_m = None
            if plan:
                plan_start = ended + timedelta(days=int(rng.integers(0, 10)))
                plan_m = m + (plan_start.year - start.year) * 12 + plan_start.month - start.month
                self.pending_plans.setdefault(plan_m, []).append((p, plan_start, self._category()))
            if begun <= month_end:
                assessed.append((plan_m is None, risk_of[p], -p, assessment, ended, plan_m))
        if not self.pending_plans.get(m) and assessed:
            # The plan floor: no plan starts this month, so the assessed child most at risk
            # (one with no plan coming first; else one whose coming plan is brought forward)
            # has one, from a strategy discussion that ends within the month.
            *_, minus_p, assessment, ended, later = max(assessed, key=lambda a: a[:3])
            if later is not None:
                self.pending_plans[later] = [
                    plan for plan in self.pending_plans[later] if plan[0] != -minus_p
                ]
            assessment["end_date"] = min(ended, month_end)
            assessment["outcome"] = "strategy_discussion"
            self.pending_plans[m] = [(-minus_p, assessment["end_date"], self._category())]
        for p, plan_start, category in self.pending_plans.pop(m, []):
            f = self.person_fields("childrens_social_care", p, m)
            plan = self.next_id("CPP-", 6)
            plans.append(
                {
                    "plan_id": plan,
                    "child_id": f["ref"],
                    "start_date": plan_start,
                    "end_date": None,
                    "category": category,
                }
            )
            self.truth.event(
                plan,
                "childrens_social_care",
                "child_protection_plans",
                m,
                plan_start,
                p,
                int(pop.hh[p]),
                f["prop"],
                category,
            )
        return {"referrals": referrals, "assessments": assessments, "child_protection_plans": plans}

    def _category(self) -> str:
        """A child protection plan's category of abuse."""
        return PLAN_CATEGORIES[int(self.rng.choice(len(PLAN_CATEGORIES), p=PLAN_CATEGORY_SHARES))]

    # --- adult social care ------------------------------------------------------------------

    def adult_care(self, m: int, people: np.ndarray, age: np.ndarray) -> list[dict]:
        rng = self.rng
        hazard = np.select([age < 18, age < 65, age < 80], [0.0, 0.0007, 0.006], 0.02)
        rows = []
        contacted = at_least_one(rng.random(len(people)) < hazard, hazard)
        for p in people[contacted].tolist():
            f = self.person_fields("adult_social_care", p, m)
            nhs = f["nhs"]
            if nhs and len(nhs) == 10:
                nhs = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"  # ASC's system displays it spaced
            when = month_start(self.config, m) + timedelta(days=int(rng.integers(0, 27)))
            contact = self.next_id("C", 8)
            kind = (
                "assessment",
                "review",
                "safeguarding_concern",
                "service_start",
                "information_advice",
            )[int(rng.choice(5, p=[0.3, 0.25, 0.1, 0.15, 0.2]))]
            rows.append(
                {
                    "contact_id": contact,
                    "client_ref": f["ref"],
                    "first_name": f["given"],
                    "last_name": f["family"],
                    "date_of_birth": f["dob"],
                    "sex": f["sex"],
                    "nhs_number": nhs,
                    "address": f["address"],
                    "postcode": f["postcode"],
                    "uprn": f["uprn"] if rng.random() < 0.8 else None,
                    "contact_date": when,
                    "contact_type": kind,
                    "service": (
                        "home_care",
                        "day_care",
                        "residential",
                        "reablement",
                        "carers_support",
                        "none",
                    )[int(rng.integers(6))],
                }
            )
            self.truth.event(
                contact,
                "adult_social_care",
                "care_contacts",
                m,
                when,
                p,
                int(self.pop.hh[p]),
                f["prop"],
                kind,
            )
        return rows

    # --- housing provider and its sensors -------------------------------------------------

    def housing(self, m: int) -> dict[str, list[dict]]:
        pop, geo, rng = self.pop, self.geo, self.rng
        start = month_start(self.config, m)
        month_end = month_start(self.config, m + 1) - timedelta(days=1)
        tenancies, repairs = [], []
        occupied = {}
        for h in pop.occupied_households().tolist():
            prop = int(pop.h_prop[h])
            if geo.tenure[prop] == SOCIAL and prop not in occupied:
                occupied[prop] = h
        for t in self.tenancy.values():
            if occupied.get(t["prop"]) != t["household"] and t["end"] is None:
                t["end"] = max(t["start"], start + timedelta(days=int(rng.integers(0, 27))))
        for prop, h in occupied.items():
            if prop in self.tenancy:
                continue
            began = (
                start + timedelta(days=int(rng.integers(0, 27)))
                if m > 0
                else date(2005, 1, 1) + timedelta(days=int(rng.integers(0, 6900)))
            )
            kind = ("assured", "starter", "secure", "temporary")[
                int(rng.choice(4, p=[0.5, 0.2, 0.25, 0.05]))
            ]
            self.tenancy[prop] = {
                "ref": self.next_id("TNC", 7),
                "household": h,
                "prop": prop,
                "person": int(pop.h_head[h]),
                "start": began,
                "end": None,
                "kind": kind,
                "size": len(pop.members[h]),
            }
        for prop in sorted(self.tenancy):
            t = self.tenancy[prop]
            tenancies.append(self._tenancy_row(t, m))
            if t["end"] is not None:
                del self.tenancy[prop]
                continue
            damp = geo.damp_since[prop]
            has_damp = damp != NO_DAMP and m >= damp
            jobs = []
            if has_damp and rng.random() < 0.12:
                jobs.append("damp_mould")
            if rng.random() < 0.035:
                jobs.append(REPAIR_OTHER[int(rng.integers(len(REPAIR_OTHER)))])
            for category in jobs:
                reported = self.random_time(m)
                priority = ("emergency", "urgent", "routine")[int(rng.choice(3, p=[0.1, 0.3, 0.6]))]
                done = reported + timedelta(hours=int(rng.integers(4, 24 * 40)))
                job = self.next_id("J", 8)
                repairs.append(
                    {
                        "job_id": job,
                        "uprn": geo.uprn[prop],
                        "reported_at": reported,
                        "category": category,
                        "priority": priority,
                        "completed_at": done if done.date() <= month_end else None,
                    }
                )
                self.truth.event(
                    job,
                    "housing_provider",
                    "repairs",
                    m,
                    reported.date(),
                    None,
                    t["household"],
                    prop,
                    category,
                )
        return {"tenancies": tenancies, "repairs": repairs}

    def _tenancy_row(self, t: dict, m: int) -> dict:
        person = t["person"]
        f = self.person_fields("housing_provider", person, m)
        prop_addr = self.clerks["housing_provider"].address(t["prop"])
        return {
            "tenancy_ref": t["ref"],
            "tenant_id": f["ref"],
            "given_name": f["given"],
            "family_name": f["family"],
            "date_of_birth": f["dob"],
            "phone": f"07{(person * 7_654_321) % 1_000_000_000:09d}" if person % 5 else None,
            "uprn": self.geo.uprn[t["prop"]],
            "address": prop_addr[0],
            "postcode": prop_addr[1],
            "start_date": t["start"],
            "end_date": t["end"],
            "tenure_type": t["kind"],
            "household_size": t["size"],
        }

    def sensor_lines(self, m: int):
        """NDJSON lines of every installed sensor for month m (the largest extract)."""
        rng, geo = self.rng, self.geo
        start = month_start(self.config, m)
        days = calendar.monthrange(start.year, start.month)[1]
        slots = days * 96
        base = datetime(start.year, start.month, 1)
        stamps = [
            (base + timedelta(minutes=15 * k)).strftime("%Y-%m-%dT%H:%M:%SZ") for k in range(slots)
        ]
        hours = (np.arange(slots) % 96) / 4.0
        daily = np.sin(2 * math.pi * (hours - 9) / 24)
        winter = math.cos(2 * math.pi * (start.month - 1) / 12)  # 1 in January
        for sensor in self.sensors:
            if m < sensor["installed"]:
                continue
            prop = sensor["prop"]
            damp = geo.damp_since[prop] != NO_DAMP and m >= geo.damp_since[prop]
            temp = 19.5 - 1.5 * winter + 2.0 * daily + rng.normal(0, 0.4, slots)
            rh_mean = 77.0 + 4 * winter if damp else 52.0 + 3 * winter
            rh = np.clip(rh_mean - 5 * daily + rng.normal(0, 3, slots), 20, 99.9)
            battery = sensor["battery"] - np.arange(slots) * 0.0012
            battery = np.where(battery < 8, battery + 92, battery)
            sensor["battery"] = float(battery[-1])
            keep = rng.random(slots) > 0.004  # radio dropouts
            no_battery = rng.random(slots) < 0.01  # firmware that omits the battery field
            serial, uprn = sensor["serial"], geo.uprn[prop]
            head = f'{{"sensor":"{serial}","uprn":"{uprn}","ts":"'
            for k, (t, h, b) in enumerate(
                zip(temp.tolist(), rh.tolist(), battery.tolist(), strict=True)
            ):
                if not keep[k]:
                    continue
                if no_battery[k]:
                    yield f'{head}{stamps[k]}","temp":{t:.1f},"rh":{h:.1f}}}'
                else:
                    yield f'{head}{stamps[k]}","temp":{t:.1f},"rh":{h:.1f},"bat":{int(b)}}}'

    # --- licensing ------------------------------------------------------------------------

    def licensing(self, m: int) -> list[dict]:
        rng = self.rng
        rows = []
        for lic in self.licences:
            if lic["opened_month"] > m or lic["closed_month"] < m:
                continue
            if (
                lic["closed_month"] == NEVER
                and lic["opened_month"] < m
                and lic["licence_type"] != "betting_shop"
                and rng.random() < 0.003
            ):
                lic["closed_month"] = m
                lic["status"] = "surrendered" if rng.random() < 0.85 else "revoked"
            rows.append(
                {
                    "licence_number": lic["licence_number"],
                    "premises_name": lic["premises_name"],
                    "licence_type": lic["licence_type"],
                    "licence_holder": lic["licence_holder"],
                    "uprn": self.geo.uprn[lic["prop"]],
                    "postcode": self.geo.postcode[lic["prop"]],
                    "opening_date": lic["opening_date"],
                    "status": lic["status"],
                }
            )
        return rows
