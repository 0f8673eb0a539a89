"""Evaluation sets for the linker shaped unlike the demo region, with their truth.

Written apart from the linker and its own generator (tests/linkage/synthetic.py): other
countries' names, postcodes and date formats, a membership or case number instead of an NHS
number, addresses split over several columns, heavier and different noise (first letters
mistyped, OCR-like confusions, missing values, year off by one), two-table linking and
one-table deduplication. Each set comes with the mapping a user would write for it.

``make_set(name, people, seed)`` returns an EvaluationSet; SETS lists the names.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd


def _words(text: str) -> list[str]:
    """Whitespace-separated words; an underscore stands for a space within one."""
    return [w.replace("_", " ") for w in text.split()]


GIVEN = _words(
    """
Lukas Leon Finn Jonas Paul Felix Elias Noah Luca Max Ben Henri Anton Emil Theo Jakob Moritz
Julian David Niklas Tim Jan Tom Erik Oskar Karl Friedrich Johann Matthias Stefan Andreas
Thomas Michael Wolfgang Jürgen Klaus Dieter Hans Peter Pieter Sander Bram Daan Sem Thijs
Lars Sven Joris Mateusz Jakub Kacper Piotr Tomasz Marek Pierre Louis Hugo Jules Lucas
Antoine Nicolas Mathieu Giovanni Marco Luca Alessandro Matteo Javier Carlos Miguel Pablo
Mia Emma Hannah Sofia Lina Marie Lea Anna Lena Clara Ella Emilia Leonie Johanna Laura
Sarah Julia Katharina Sabine Petra Monika Ursula Ingrid Greta Frieda Maren Femke Sanne
Anouk Fleur Lotte Noor Eva Zofia Maja Zuzanna Agnieszka Katarzyna Camille Chloé Manon
Léa Inès Élodie Giulia Chiara Francesca Lucía Carmen Elena Marta Ilse Margit Anneke
"""
)
FAMILY = _words(
    """
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch
Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann
Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann
König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert
Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht
de_Jong Jansen de_Vries van_den_Berg van_Dijk Bakker Janssen Visser Smit Meijer de_Boer
Mulder de_Groot Bos Vos Peters Hendriks van_Leeuwen Dekker Brouwer de_Wit Dijkstra Smits
Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański
Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent
Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Rossi Russo Ferrari Esposito
Bianchi Romano Colombo Ricci García Fernández González Rodríguez López Martínez Sánchez
"""
)
STREETS = _words(
    """
Haupt Bahnhof Schul Garten Dorf Berg Kirch Wald Ring Linden Birken Eichen Mühlen Wiesen
Rosen Tannen Buchen Ahorn Feld Friedhof Markt Sonnen Parkweg Brunnen Industrie Lärchen
"""
)
STREET_KINDS = ["straße", "weg", "gasse", "allee", "platz", "ring"]
TOWNS = _words(
    """
Aachen Bremen Celle Dortmund Erfurt Freiburg Gießen Hameln Ingolstadt Jena Kassel Lübeck
Mainz Nürnberg Oldenburg Potsdam Regensburg Siegen Trier Ulm Wetzlar Zwickau Utrecht Delft
"""
)
SYLLABLES = "ber gen sch wald hof mann feld stein brun kamp horst dorf lin den rich holt ker"


def _zipf(rng: random.Random, items: list[str], offset: int = 3) -> str:
    weights = [1 / (r + offset) for r in range(len(items))]
    return rng.choices(items, weights=weights)[0]


def _family(rng: random.Random) -> str:
    """Common surnames with a long tail of rarer ones, as in any real population."""
    if rng.random() < 0.7:
        return _zipf(rng, FAMILY)
    parts = SYLLABLES.split()
    return "".join(rng.choice(parts) for _ in range(rng.choice([2, 2, 3]))).capitalize()


OCR = {"O": "0", "I": "l", "E": "F", "M": "N", "N": "M", "U": "V", "A": "4", "S": "5"}


def typo(rng: random.Random, text: str, first_letter: bool = True) -> str:
    """One keying or OCR error anywhere in the text, the first character included."""
    if len(text) < 2:
        return text
    i = rng.randrange(0 if first_letter else 1, len(text))
    kind = rng.random()
    if kind < 0.25:
        return text[:i] + text[i + 1 :]
    if kind < 0.5:
        return text[:i] + rng.choice(string.ascii_lowercase) + text[i:]
    if kind < 0.7:
        return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1 :]
    if kind < 0.85 and i < len(text) - 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    upper = text[i].upper()
    return text[:i] + OCR.get(upper, upper) + text[i + 1 :]


@dataclass(frozen=True)
class Noise:
    """Chance per delivered record of each error."""

    name_typo: float = 0.1
    second_typo: float = 0.2  # of a mistyped name, chance of a second error
    name_missing: float = 0.02
    dob_error: float = 0.05  # day/month swapped, a digit off, or the year off by one
    dob_missing: float = 0.02
    postcode_typo: float = 0.03
    postcode_missing: float = 0.05
    address_typo: float = 0.1
    moved: float = 0.05
    identifier_missing: float = 0.3
    identifier_typo: float = 0.03


@dataclass
class EvaluationSet:
    name: str
    tables: list[pd.DataFrame]
    mapping: dict
    truth: pd.DataFrame  # source, record_id, person_id
    link_type: str
    description: str

    @property
    def records(self) -> int:
        return sum(len(t) for t in self.tables)


def _people(rng: random.Random, count: int, postcode: Callable[[random.Random], str]):
    people = []
    homes = [
        (
            f"{rng.choice(STREETS)}{rng.choice(STREET_KINDS)}",
            str(rng.randint(1, 120)),
            rng.choice(TOWNS),
            postcode(rng),
        )
        for _ in range(max(1, count // 2))
    ]
    for n in range(count):
        home = rng.choice(homes)
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(90 * 365))
        people.append(
            dict(
                person_id=f"P{n:08d}",
                given=_zipf(rng, GIVEN, 5),
                family=_family(rng),
                born=born,
                street=home[0],
                house=home[1],
                town=home[2],
                postcode=home[3],
                member=f"{rng.randint(0, 9_999_999):07d}",
            )
        )
    return people, homes


def _noisy_record(rng: random.Random, person: dict, noise: Noise, homes, postcode_typo) -> dict:
    given, family = person["given"], person["family"]
    if rng.random() < noise.name_typo:
        given = typo(rng, given)
        if rng.random() < noise.second_typo:
            given = typo(rng, given)
    if rng.random() < noise.name_typo:
        family = typo(rng, family)
        if rng.random() < noise.second_typo:
            family = typo(rng, family)
    born: date | None = person["born"]
    if rng.random() < noise.dob_error:
        kind = rng.random()
        if kind < 0.35 and born.day <= 12:
            born = date(born.year, born.day, born.month)
        elif kind < 0.7:
            born = born + timedelta(days=rng.choice([-1, 1, -10, 10, 20]))
        else:
            born = date(born.year + rng.choice([-1, 1]), born.month, min(born.day, 28))
    street, house, town, code = (
        person["street"],
        person["house"],
        person["town"],
        person["postcode"],
    )
    if rng.random() < noise.moved:
        street, house, town, code = rng.choice(homes)
    if rng.random() < noise.address_typo:
        street = typo(rng, street, first_letter=False)
    if rng.random() < 0.3:
        street = street.replace("straße", "str.").replace("Straße", "Str.")
    if rng.random() < noise.postcode_typo:
        code = postcode_typo(rng, code)
    member = person["member"]
    if rng.random() < noise.identifier_typo:
        i = rng.randrange(len(member))
        member = member[:i] + str((int(member[i]) + 1) % 10) + member[i + 1 :]
    return dict(
        given=None if rng.random() < noise.name_missing else given,
        family=None if rng.random() < noise.name_missing else family,
        born=None if rng.random() < noise.dob_missing else born,
        street=street,
        house=house,
        town=town,
        postcode=None if rng.random() < noise.postcode_missing else code,
        member=None if rng.random() < noise.identifier_missing else member,
    )


def _german_postcode(rng: random.Random) -> str:
    return f"{rng.randint(1067, 99998):05d}"


def _digit_typo(rng: random.Random, code: str) -> str:
    digits = [i for i, c in enumerate(code) if c.isdigit()]
    i = rng.choice(digits)
    return code[:i] + str((int(code[i]) + rng.randint(1, 9)) % 10) + code[i + 1 :]


def _dutch_postcode(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTVWXZ"
    return f"{rng.randint(1000, 9999)} {rng.choice(letters)}{rng.choice(letters)}"


def continental_link(people: int, seed: int) -> EvaluationSet:
    """Two registers (a sports club's members, a clinic's patients) in German conventions:
    DD.MM.YYYY dates, five-digit postcodes, the address in street, house number and town
    columns, a membership number in both; most members are also patients, none twice."""
    rng = random.Random(seed)
    persons, homes = _people(rng, people, _german_postcode)
    noise = Noise()
    club, clinic, truth = [], [], []
    for p in persons:
        in_club, in_clinic = rng.random() < 0.8, rng.random() < 0.7
        if not (in_club or in_clinic):
            in_club = True
        if in_club:
            r = _noisy_record(rng, p, noise, homes, _digit_typo)
            ref = f"C{len(club) + 1:07d}"
            club.append(
                {
                    "Mitgliedsnr": r["member"],
                    "Vorname": r["given"],
                    "Nachname": r["family"],
                    "Geburtsdatum": r["born"].strftime("%d.%m.%Y") if r["born"] else None,
                    "Strasse": r["street"],
                    "Hausnummer": r["house"],
                    "Ort": r["town"],
                    "PLZ": r["postcode"],
                    "Ref": ref,
                }
            )
            truth.append(("club", ref, p["person_id"]))
        if in_clinic:
            r = _noisy_record(rng, p, noise, homes, _digit_typo)
            ref = f"K{len(clinic) + 1:07d}"
            clinic.append(
                {
                    "Mitgliedsnr": r["member"],
                    "Vorname": (r["given"] or "").upper() or None,
                    "Nachname": (r["family"] or "").upper() or None,
                    "Geburtsdatum": r["born"].strftime("%d.%m.%Y") if r["born"] else None,
                    "Strasse": r["street"],
                    "Hausnummer": r["house"],
                    "Ort": r["town"],
                    "PLZ": r["postcode"],
                    "Ref": ref,
                }
            )
            truth.append(("clinic", ref, p["person_id"]))
    mapping = {
        "record_id": "Ref",
        "source": "dataset",
        "given_name": "Vorname",
        "family_name": "Nachname",
        "date_of_birth": "Geburtsdatum",
        "postcode": "PLZ",
        "address": ["Hausnummer", "Strasse", "Ort"],
        "identifiers": {"member": "Mitgliedsnr"},
        "formats": {"date_of_birth": "%d.%m.%Y"},
    }
    return EvaluationSet(
        "continental_link",
        [_sourced(club, "club"), _sourced(clinic, "clinic")],
        mapping,
        _truth(truth),
        "link_only",
        continental_link.__doc__.split("\n")[0],
    )


def heavy_typo_dedupe(people: int, seed: int) -> EvaluationSet:
    """One register to deduplicate, keyed by hand: Dutch postcodes (1234 AB), ISO-less
    YYYYMMDD dates, one address column, no identifier, every name field mistyped in a
    quarter of the records (some twice), up to four records per person."""
    rng = random.Random(seed)
    persons, homes = _people(rng, people, _dutch_postcode)
    noise = Noise(
        name_typo=0.25,
        second_typo=0.3,
        name_missing=0.05,
        dob_error=0.12,
        dob_missing=0.05,
        postcode_typo=0.08,
        postcode_missing=0.15,
        address_typo=0.25,
        moved=0.08,
    )

    def dutch_typo(rng: random.Random, code: str) -> str:
        return _digit_typo(rng, code) if rng.random() < 0.6 else code.replace(" ", "")

    rows, truth = [], []
    for p in persons:
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
            r = _noisy_record(rng, p, noise, homes, dutch_typo)
            ref = f"R{len(rows) + 1:07d}"
            rows.append(
                {
                    "id": ref,
                    "voornaam": r["given"],
                    "achternaam": r["family"],
                    "geboortedatum": r["born"].strftime("%Y%m%d") if r["born"] else None,
                    "adres": f"{r['street']} {r['house']}, {r['town']}",
                    "postcode": r["postcode"],
                }
            )
            truth.append(("register", ref, p["person_id"]))
    mapping = {
        "record_id": "id",
        "source": "dataset",
        "given_name": "voornaam",
        "family_name": "achternaam",
        "date_of_birth": "geboortedatum",
        "postcode": "postcode",
        "address": "adres",
        "formats": {"date_of_birth": "%Y%m%d"},
    }
    return EvaluationSet(
        "heavy_typo_dedupe",
        [_sourced(rows, "register")],
        mapping,
        _truth(truth),
        "dedupe_only",
        heavy_typo_dedupe.__doc__.split("\n")[0],
    )


def no_postcode_link(people: int, seed: int) -> EvaluationSet:
    """Two case lists with no postcode at all, US-style MM/DD/YYYY dates, the address as
    street and town columns, and a case number held by most records."""
    rng = random.Random(seed)
    persons, homes = _people(rng, people, _german_postcode)
    noise = Noise(name_typo=0.15, identifier_missing=0.4)
    lists: dict[str, list] = {"intake": [], "outcomes": []}
    truth = []
    for p in persons:
        for source, share in (("intake", 0.75), ("outcomes", 0.75)):
            if rng.random() >= share:
                continue
            r = _noisy_record(rng, p, noise, homes, _digit_typo)
            ref = f"{source[0].upper()}{len(lists[source]) + 1:07d}"
            lists[source].append(
                {
                    "case_ref": ref,
                    "first": r["given"],
                    "last": r["family"],
                    "birth": r["born"].strftime("%m/%d/%Y") if r["born"] else None,
                    "street": f"{r['house']} {r['street']}",
                    "city": r["town"],
                    "case_number": f"CN-{r['member']}" if r["member"] else None,
                }
            )
            truth.append((source, ref, p["person_id"]))
    mapping = {
        "record_id": "case_ref",
        "source": "dataset",
        "given_name": "first",
        "family_name": "last",
        "date_of_birth": "birth",
        "address": ["street", "city"],
        "identifiers": ["case_number"],
        "formats": {"date_of_birth": "%m/%d/%Y"},
    }
    return EvaluationSet(
        "no_postcode_link",
        [_sourced(rows, source) for source, rows in lists.items()],
        mapping,
        _truth(truth),
        "link_only",
        no_postcode_link.__doc__.split("\n")[0],
    )


def _sourced(rows: list[dict], source: str) -> pd.DataFrame:
    """The rows with a column naming their data set (the mapping's `source`)."""
    return pd.DataFrame(rows).assign(dataset=source)


def _truth(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source", "record_id", "person_id"])


SETS: dict[str, Callable[[int, int], EvaluationSet]] = {
    "continental_link": continental_link,
    "heavy_typo_dedupe": heavy_typo_dedupe,
    "no_postcode_link": no_postcode_link,
}


def make_set(name: str, people: int = 2000, seed: int = 1) -> EvaluationSet:
    return SETS[name](people, seed)
