"""Residents and households: who lives where, and births, deaths, moves and name changes.

People and households are held in numpy arrays (plus lists for names), so a million residents
fit in a few hundred megabytes and monthly hazards are drawn for everyone at once.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from ingestion.demo_region.geography import Geography
from ingestion.demo_region.names import FAMILY, FEMALE, MALE

MALE_SEX, FEMALE_SEX = 0, 1


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / (np.arange(n) + 8.0) ** 0.9
    return weights / weights.sum()


class NameDraws:
    """Pre-drawn name indices: one vectorised draw instead of a million small ones."""

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self._male = rng.choice(len(MALE), size=size, p=_zipf(len(MALE))).astype(np.int16)
        self._female = rng.choice(len(FEMALE), size=size, p=_zipf(len(FEMALE))).astype(np.int16)
        self._family = rng.choice(len(FAMILY), size=size, p=_zipf(len(FAMILY))).astype(np.int16)
        self._i = [0, 0, 0]

    def _next(self, which: int, pool: np.ndarray) -> int:
        value = int(pool[self._i[which] % len(pool)])
        self._i[which] += 1
        return value

    def given(self, sex: int) -> str:
        if sex == MALE_SEX:
            return MALE[self._next(0, self._male)]
        return FEMALE[self._next(1, self._female)]

    def family(self) -> str:
        return FAMILY[self._next(2, self._family)]


def nhs_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """Unique, valid (modulus 11) NHS numbers in the 4xx-7xx ranges, in a seeded order."""
    found: list[np.ndarray] = []
    have = 0
    while have < count:
        base = rng.integers(400_000_000, 800_000_000, size=int(count * 1.3) + 100)
        total = np.zeros(len(base), np.int64)
        for position, weight in enumerate(range(10, 1, -1)):  # digit by digit: little memory
            total += (base // 10 ** (8 - position)) % 10 * weight
        check = 11 - total % 11
        check = np.where(check == 11, 0, check)
        ok = check != 10
        found.append(base[ok] * 10 + check[ok])
        have += int(ok.sum())
    values = np.concatenate(found)
    _, first = np.unique(values, return_index=True)
    values = values[np.sort(first)][:count]
    if len(values) < count:  # vanishingly unlikely: collisions ate the margin
        return nhs_numbers(rng, count)
    return values  # int64: a tenth of the memory of a million strings


class Population:
    def __init__(
        self,
        rng: np.random.Generator,
        geo: Geography,
        residents: int,
        start: date,
        truth,
        shared_address_share: float = 0.02,
        twin_share: float = 0.03,
    ) -> None:
        self.rng = rng
        self.geo = geo
        self.truth = truth
        cap = int(residents * 1.25) + 1000
        self.cap = cap
        self.n = 0
        self.dob = np.zeros(cap, np.int32)  # date ordinal
        self.sex = np.zeros(cap, np.int8)
        self.alive = np.zeros(cap, bool)
        self.hh = np.full(cap, -1, np.int32)
        self.spell_from = np.zeros(cap, np.int16)
        self.death_month = np.full(cap, -1, np.int16)
        self.born_month = np.full(cap, -1, np.int16)
        self.twin_of = np.full(cap, -1, np.int32)
        self.name_changed = np.full(cap, -1, np.int16)
        self.given: list[str] = []
        self.family: list[str] = []
        self.first_family: list[str] = []
        self.nhs = nhs_numbers(rng, cap)
        self.names = NameDraws(rng, cap * 2)
        hcap = residents + 1000
        self.h_prop = np.full(hcap, -1, np.int32)
        self.h_head = np.full(hcap, -1, np.int32)
        self.h_risk = np.zeros(hcap, np.float32)  # latent strain: poverty, conflict, illness
        self.h_spell_from = np.zeros(hcap, np.int16)
        self.members: list[list[int]] = []
        self.nh = 0
        self.vacant: list[int] = []
        self.start_ordinal = start.toordinal()
        self.shared_address_share = shared_address_share
        self.twin_share = twin_share
        self._populate(residents)

    # --- building the starting population -------------------------------------------------

    def _add_person(self, dob_ordinal: int, sex: int, family: str, hh: int, month: int) -> int:
        i = self.n
        if i >= self.cap:
            raise RuntimeError("population capacity exceeded")
        self.n += 1
        self.dob[i] = dob_ordinal
        self.sex[i] = sex
        self.alive[i] = True
        self.hh[i] = hh
        self.spell_from[i] = month
        self.given.append(self.names.given(sex))
        self.family.append(family)
        self.first_family.append(family)
        self.members[hh].append(i)
        return i

    def _new_household(self, prop: int, risk: float, month: int) -> int:
        h = self.nh
        self.nh += 1
        if h >= len(self.h_prop):
            grow = len(self.h_prop)
            self.h_prop = np.concatenate([self.h_prop, np.full(grow, -1, np.int32)])
            self.h_head = np.concatenate([self.h_head, np.full(grow, -1, np.int32)])
            self.h_risk = np.concatenate([self.h_risk, np.zeros(grow, np.float32)])
            self.h_spell_from = np.concatenate([self.h_spell_from, np.zeros(grow, np.int16)])
        self.h_prop[h] = prop
        self.h_risk[h] = risk
        self.h_spell_from[h] = month
        self.members.append([])
        return h

    def _dob(self, age: float) -> int:
        return int(self.start_ordinal - age * 365.25 - self.rng.uniform(0, 365))

    def _populate(self, residents: int) -> None:
        rng, geo = self.rng, self.geo
        decile = geo.deprivation_decile()
        order = rng.permutation(geo.n_residential)
        kinds = ("single", "older_single", "couple", "family", "lone_parent", "older_couple")
        shares = np.array([0.22, 0.12, 0.22, 0.26, 0.10, 0.08])
        for prop in order.tolist():
            if self.n >= residents or rng.random() < 0.06:
                self.vacant.append(prop)
                continue
            depr = (10 - decile[geo.lsoa[prop]]) / 9.0  # 1 most deprived
            risk = float(min(1.0, rng.beta(1.2, 6.0) * (0.6 + 1.2 * depr)))
            households = (
                2 if rng.random() < self.shared_address_share else 1
            )  # shared addresses (HMOs)
            for _ in range(households):
                kind = kinds[int(rng.choice(6, p=shares))] if households == 1 else "single"
                self._household_of_kind(kind, prop, risk)

    def _household_of_kind(self, kind: str, prop: int, risk: float) -> None:
        rng = self.rng
        h = self._new_household(prop, risk, 0)
        family = self.names.family()
        if kind in ("single", "older_single"):
            age = rng.uniform(18, 64) if kind == "single" else rng.uniform(65, 95)
            head = self._add_person(self._dob(age), int(rng.integers(2)), family, h, 0)
        else:
            older = kind == "older_couple"
            age = rng.uniform(65, 88) if older else rng.uniform(20, 60)
            first_sex = MALE_SEX if kind != "lone_parent" or rng.random() < 0.1 else FEMALE_SEX
            head = self._add_person(self._dob(age), first_sex, family, h, 0)
            if kind in ("couple", "family", "older_couple"):
                partner_family = family if rng.random() < 0.8 else self.names.family()
                partner_age = max(18.0, age + rng.normal(-2, 4))
                self._add_person(self._dob(partner_age), 1 - first_sex, partner_family, h, 0)
            if kind in ("family", "lone_parent"):
                kids = int(rng.choice([1, 2, 3, 4], p=[0.35, 0.4, 0.18, 0.07]))
                previous = -1
                for _ in range(kids):
                    if (
                        previous >= 0 and rng.random() < self.twin_share
                    ):  # twins share dob and surname
                        twin = self._add_person(
                            int(self.dob[previous]), int(rng.integers(2)), family, h, 0
                        )
                        self.twin_of[twin], self.twin_of[previous] = previous, twin
                        continue
                    kid_age = rng.uniform(0, min(17.99, max(0.5, age - 18)))
                    previous = self._add_person(
                        self._dob(kid_age), int(rng.integers(2)), family, h, 0
                    )
        self.h_head[h] = head

    # --- who is where ---------------------------------------------------------------------

    def living(self) -> np.ndarray:
        return np.nonzero(self.alive[: self.n])[0]

    def ages(self, people: np.ndarray, on: date) -> np.ndarray:
        return (on.toordinal() - self.dob[people]) / 365.25

    def property_of(self, people: np.ndarray) -> np.ndarray:
        return self.h_prop[self.hh[people]]

    def occupied_households(self) -> np.ndarray:
        return np.nonzero(self.h_prop[: self.nh] >= 0)[0]

    # --- monthly demography ---------------------------------------------------------------

    def _close_spell(self, person: int, month_to: int) -> None:
        h = int(self.hh[person])
        self.truth.residence(person, h, int(self.h_prop[h]), int(self.spell_from[person]), month_to)

    def _close_household_spell(self, h: int, month_to: int) -> None:
        self.truth.household_spell(h, int(self.h_prop[h]), int(self.h_spell_from[h]), month_to)

    def _take_vacant(self) -> int | None:
        if not self.vacant:
            return None
        k = int(self.rng.integers(len(self.vacant)))
        self.vacant[k], self.vacant[-1] = self.vacant[-1], self.vacant[k]
        return self.vacant.pop()

    def _leave_household(self, person: int, month: int) -> None:
        """Take a person out of their household; an emptied household gives up its home."""
        h = int(self.hh[person])
        self.members[h].remove(person)
        if not self.members[h]:
            self._close_household_spell(h, month)
            self.vacant.append(int(self.h_prop[h]))
            self.h_prop[h] = -1
        elif self.h_head[h] == person:
            # The oldest remaining member becomes the liable person.
            self.h_head[h] = min(self.members[h], key=lambda p: (int(self.dob[p]), p))

    def step(self, m: int, mid: date) -> dict[str, int]:
        """Births, deaths, moves and name changes in month m; returns counts."""
        rng = self.rng
        people = self.living()
        age = self.ages(people, mid)
        counts = {"births": 0, "deaths": 0, "moves": 0, "leaving_home": 0, "name_changes": 0}

        q = np.minimum(0.5, 0.00003 * np.exp(0.095 * age)) / 12
        dying = people[rng.random(len(people)) < q]
        for p in dying.tolist():
            self._close_spell(p, m)
            self.alive[p] = False
            self.death_month[p] = m
            self._leave_household(p, m)
            counts["deaths"] += 1

        women = people[(self.sex[people] == FEMALE_SEX) & (age >= 18) & (age < 45)]
        mothers = women[rng.random(len(women)) < 0.0055]
        for mother in mothers.tolist():
            if not self.alive[mother]:
                continue
            h = int(self.hh[mother])
            family = self.family[int(self.h_head[h])]
            day = mid.toordinal() - int(rng.integers(0, 14))
            babies = 2 if rng.random() < self.twin_share / 2 else 1
            born = [
                self._add_person(day, int(rng.integers(2)), family, h, m) for _ in range(babies)
            ]
            for b in born:
                self.born_month[b] = m
            if babies == 2:
                self.twin_of[born[0]], self.twin_of[born[1]] = born[1], born[0]
            counts["births"] += babies

        households = self.occupied_households()
        moving = households[rng.random(len(households)) < 0.006]
        for h in moving.tolist():
            target = self._take_vacant()
            if target is None:
                break
            self._close_household_spell(h, m - 1)
            for p in self.members[h]:
                self._close_spell(p, m - 1)
                self.spell_from[p] = m
            self.vacant.append(int(self.h_prop[h]))
            self.h_prop[h] = target
            self.h_spell_from[h] = m
            counts["moves"] += 1

        people = self.living()
        age = self.ages(people, mid)
        young = people[(age >= 18) & (age < 30)]
        leaving = young[rng.random(len(young)) < 0.004]
        for p in leaving.tolist():
            h = int(self.hh[p])
            if self.h_head[h] == p or len(self.members[h]) < 2:
                continue
            target = self._take_vacant()
            if target is None:
                break
            self._close_spell(p, m - 1)
            self._leave_household(p, m - 1)
            new = self._new_household(target, float(self.h_risk[h]) * 0.8, m)
            self.hh[p] = new
            self.members[new].append(p)
            self.h_head[new] = p
            self.spell_from[p] = m
            counts["leaving_home"] += 1

        brides = people[(self.sex[people] == FEMALE_SEX) & (age >= 20) & (age < 45)]
        for p in brides[rng.random(len(brides)) < 0.0008].tolist():
            self.family[p] = self.names.family()
            self.name_changed[p] = m
            counts["name_changes"] += 1
        return counts

    def close_all(self, last_month: int) -> None:
        for p in self.living().tolist():
            self._close_spell(p, last_month)
        for h in self.occupied_households().tolist():
            self._close_household_spell(h, last_month)
