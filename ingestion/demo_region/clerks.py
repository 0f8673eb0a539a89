"""How each body records a person: its local identifier scheme and its clerical mistakes.

A body registers a person once, with whatever errors crept in then, and repeats that record
on every later row (as case management systems do); the address is the person's current one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from ingestion.demo_region.config import IdentityNoise
from ingestion.demo_region.names import NICKNAMES, STREET_ABBREVIATIONS
from ingestion.demo_region.population import Population

KEYBOARD_NEIGHBOURS = {
    "a": "sq",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "y": "tu",
    "z": "x",
}


def typo(rng: random.Random, text: str) -> str:
    """One realistic keying error: a letter dropped, doubled, swapped or mis-struck."""
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.3:
        return text[:i] + text[i + 1 :]
    if kind < 0.5:
        return text[:i] + text[i] + text[i:]
    if kind < 0.75:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    near = KEYBOARD_NEIGHBOURS.get(text[i].lower())
    return text[:i] + rng.choice(near) + text[i + 1 :] if near else text


def mistype_digits(rng: random.Random, digits: str) -> str:
    i = rng.randrange(len(digits))
    if rng.random() < 0.5 and i < len(digits) - 1 and digits[i] != digits[i + 1]:
        return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
    wrong = str((int(digits[i]) + rng.randrange(1, 10)) % 10)
    return digits[:i] + wrong + digits[i + 1 :]


@dataclass(slots=True)
class Registration:
    person: int
    local_id: str
    given: str
    family: str
    dob: date | None
    sex: int | None  # 0 male, 1 female, None not recorded
    nhs: str | None
    registered_month: int


@dataclass(frozen=True)
class Quirks:
    id_format: str  # e.g. "LCS{:06d}"
    id_start: int
    nicknames: bool = True  # legal-name systems (schools) never hold nicknames
    swap_factor: float = 1.0  # police transcribe surname-first forms and swap names more often
    holds_nhs: bool = False
    abbreviate_streets: bool = False
    upper_case_address: bool = False


class Clerk:
    def __init__(
        self, body: str, quirks: Quirks, noise: IdentityNoise, seed: int, population: Population
    ) -> None:
        self.body = body
        self.quirks = quirks
        self.noise = noise
        self.pop = population
        self.rng = random.Random(f"{seed}:clerk:{body}")
        self.current: dict[int, Registration] = {}
        self.registrations: list[Registration] = []
        self._next = quirks.id_start
        self._pending_duplicate: set[int] = set()

    def _new_id(self) -> str:
        self._next += self.rng.randrange(1, 7)
        return self.quirks.id_format.format(self._next)

    def _register(self, person: int, month: int) -> Registration:
        rng, noise, pop = self.rng, self.noise, self.pop
        given, family = pop.given[person], pop.family[person]
        if self.quirks.nicknames and given in NICKNAMES and rng.random() < noise.nickname * 4:
            given = rng.choice(NICKNAMES[given])
        if rng.random() < noise.typo:
            given = typo(rng, given)
        if rng.random() < noise.typo:
            family = typo(rng, family)
        if rng.random() < noise.swapped_names * self.quirks.swap_factor:
            given, family = family, given
        dob: date | None = date.fromordinal(int(pop.dob[person]))
        if rng.random() < noise.transposed_dob and dob.day <= 12 and dob.day != dob.month:
            dob = dob.replace(day=dob.month, month=dob.day)
        if rng.random() < noise.missing_field / 2:
            dob = None
        sex: int | None = int(pop.sex[person])
        if rng.random() < noise.missing_field / 2:
            sex = None
        nhs = None
        if self.quirks.holds_nhs and rng.random() >= noise.nhs_missing:
            nhs = str(pop.nhs[person])
            if rng.random() < noise.nhs_mistyped:
                nhs = mistype_digits(rng, nhs)
        registration = Registration(person, self._new_id(), given, family, dob, sex, nhs, month)
        self.current[person] = registration
        self.registrations.append(registration)
        if rng.random() < noise.duplicate_registration:
            self._pending_duplicate.add(person)
        return registration

    def record(self, person: int, month: int) -> Registration:
        """The body's record of this person, registering them on first contact."""
        found = self.current.get(person)
        if found is None:
            return self._register(person, month)
        if person in self._pending_duplicate:
            # A second registration, as when a person is not found by a search at reception.
            self._pending_duplicate.discard(person)
            return self._register(person, month)
        changed = self.pop.name_changed[person]
        if changed >= 0 and found.registered_month <= changed and self.rng.random() < 0.3:
            found.family = self.pop.family[person]
            found.registered_month = month
        return found

    def address(self, prop: int) -> tuple[str | None, str | None]:
        """(address, postcode) as this body holds them for a property, with its own quirks."""
        geo = self.pop.geo
        number = geo.number[prop]
        root, kind = geo.street[prop]
        if self.quirks.abbreviate_streets:
            kind = STREET_ABBREVIATIONS.get(kind, kind)
        text = f"{number} {root} {kind}"
        postcode = geo.postcode[prop]
        if self.quirks.upper_case_address:
            text = text.upper()
        rng = self.rng
        roll = rng.random()
        if roll < self.noise.missing_field:
            postcode = None
        elif roll < self.noise.missing_field * 1.5:
            postcode = postcode.replace(" ", "")
        elif roll < self.noise.missing_field * 2:
            text = None
        return text, postcode
