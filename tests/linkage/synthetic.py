"""A small noisy region for testing the linker (its tests only), with its ground truth.

The demo region simulator (ingestion/demo_region) is the full picture; this generator is
the linker's own, so that its tests do not depend on the simulator, and it plants the hard
cases on purpose: typos, nicknames, swapped names, transposed day and month, missing and
mistyped NHS numbers, people who moved, twins and households sharing an address.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from ingestion.identifiers import nhs_check_digit
from linkage.names import NICKNAMES


def _words(text: str) -> list[str]:
    return text.split()


MALE = _words(
    """
    JAMES JOHN ROBERT MICHAEL WILLIAM DAVID RICHARD JOSEPH THOMAS CHARLES CHRISTOPHER DANIEL
    MATTHEW ANTHONY MARK STEVEN PAUL ANDREW JOSHUA KEVIN BRIAN GEORGE EDWARD RONALD TIMOTHY
    JASON JEFFREY RYAN JACOB GARY NICHOLAS ERIC JONATHAN STEPHEN LARRY JUSTIN SCOTT BRANDON
    BENJAMIN SAMUEL GREGORY ALEXANDER PATRICK FRANK RAYMOND JACK DENNIS JERRY TYLER AARON
    JOSE ADAM NATHAN HENRY PETER ZACHARY DOUGLAS HAROLD KYLE OLIVER HARRY NOAH LEO OSCAR
    ARCHIE ALFIE FREDDIE THEO ARTHUR MOHAMMED MUHAMMAD ALI OMAR YUSUF HASSAN IBRAHIM KAMAL
    RAJ ARJUN ROHAN LIAM CONNOR SEAN KIERAN DECLAN CALLUM
    """
)
FEMALE = _words(
    """
    MARY PATRICIA JENNIFER LINDA ELIZABETH BARBARA SUSAN JESSICA SARAH KAREN LISA NANCY
    BETTY MARGARET SANDRA ASHLEY KIMBERLY EMILY DONNA MICHELLE CAROL AMANDA DOROTHY MELISSA
    DEBORAH STEPHANIE REBECCA SHARON LAURA CYNTHIA KATHLEEN AMY ANGELA SHIRLEY ANNA BRENDA
    PAMELA EMMA NICOLE HELEN SAMANTHA KATHERINE CHRISTINE DEBRA RACHEL CATHERINE CAROLYN
    JANET RUTH MARIA HEATHER DIANE VIRGINIA JULIE JOYCE VICTORIA OLIVIA AMELIA ISLA AVA MIA
    ISABELLA SOPHIA GRACE LILY FREYA ELLA POPPY EVIE CHLOE FATIMA AISHA ZARA MARYAM PRIYA
    ANJALI SIOBHAN NIAMH AOIFE CIARA ORLA SINEAD BETHANY LAUREN
    """
)
SURNAMES = _words(
    """
    SMITH JONES WILLIAMS TAYLOR BROWN DAVIES EVANS WILSON THOMAS JOHNSON ROBERTS ROBINSON
    THOMPSON WRIGHT WALKER WHITE EDWARDS HUGHES GREEN HALL LEWIS HARRIS CLARKE PATEL JACKSON
    WOOD TURNER MARTIN COOPER HILL WARD MORRIS MOORE CLARK LEE KING BAKER HARRISON MORGAN
    ALLEN JAMES SCOTT PHILLIPS WATSON DAVIS PARKER PRICE BENNETT YOUNG GRIFFITHS MITCHELL
    KELLY COOK CARTER RICHARDSON BAILEY COLLINS BELL SHAW MURPHY MILLER COX RICHARDS KHAN
    MARSHALL ANDERSON SIMPSON ELLIS ADAMS SINGH BEGUM WILKINSON FOSTER CHAPMAN POWELL WEBB
    ROGERS GRAY MASON ALI HUNT HUSSAIN CAMPBELL MATTHEWS OWEN PALMER HOLMES MILLS BARNES
    KNIGHT LLOYD BUTLER RUSSELL BARKER FISHER STEVENS JENKINS MURRAY DIXON HARVEY GRAHAM
    PEARSON AHMED FLETCHER WALSH KAUR GIBSON HOWARD ANDREWS STEWART ELLIOTT REYNOLDS
    SAUNDERS PAYNE FOX FORD PEARCE DAY BROOKS WEST LAWRENCE COLE ATKINSON BRADLEY SPENCER
    GILL DAWSON BALL BURTON OBRIEN WATTS ROSE BOOTH PERRY RYAN GRANT WELLS ARMSTRONG FRANCIS
    REES HAYES HART HUDSON NEWMAN BARRETT WEBSTER HUNTER GREGORY CARR LOWE PAGE MARSH RILEY
    DUNN WOODS PARSONS BERRY STONE REID HOLLAND HAWKINS HARDING PORTER ROBERTSON NEWTON
    OLIVER REED KENNEDY WILLIAMSON BIRD GARDNER SHAH DEAN LANE COLEMAN BECK NOWAK KOWALSKI
    OKAFOR ADEYEMI MENSAH OSEI NGUYEN CHEN WANG
    """
)
STREETS = _words(
    """
    HIGH CHURCH STATION VICTORIA MILL PARK QUEEN KING GREEN MANOR NEW SCHOOL ALBERT GEORGE
    NORTH SOUTH WEST EAST CROSS BRIDGE ELM OAK ASH BIRCH BEECH WILLOW MAPLE CEDAR RIVER
    CASTLE ABBEY MARKET MEADOW ORCHARD HOLLY ROSE FERN HEATH MOOR VALE HILL
    """
)
STREET_TYPES = ["ROAD", "STREET", "AVENUE", "LANE", "CLOSE", "DRIVE", "GROVE", "TERRACE"]
ABBREVIATIONS = {"ROAD": "RD", "STREET": "ST", "AVENUE": "AVE", "LANE": "LN", "DRIVE": "DR"}
TOWNS = ["NORTHBRIDGE", "EASTFORD", "WESTMOOR", "SOUTHAM"]

# body: (share of residents, ages eligible, has NHS number, gives UPRN, sex codes, upper case)
BODIES = {
    "acute_trust": (0.35, (0, 110), 0.85, 0.0, ("1", "2", "9"), False),
    "adult_social_care": (0.12, (18, 110), 0.6, 0.7, ("Male", "Female", "Unknown"), False),
    "childrens_social_care": (0.25, (0, 17), 0.3, 0.8, ("M", "F", "U"), False),
    "police": (0.15, (10, 90), 0.0, 0.0, ("M", "F", "X"), True),
    "revenues_benefits": (0.25, (18, 110), 0.0, 1.0, ("M", "F", "U"), False),
    "schools": (0.8, (4, 16), 0.0, 0.0, ("M", "F", "U"), False),
    "housing_provider": (0.2, (18, 110), 0.0, 1.0, ("M", "F", "U"), False),
}


@dataclass(frozen=True)
class NoiseRates:
    """Chance per delivered record of each kind of error."""

    typo_given: float = 0.04
    typo_family: float = 0.04
    nickname: float = 0.05
    swapped_names: float = 0.01
    dob_transposed: float = 0.015
    dob_typo: float = 0.01
    nhs_missing: float = 0.15
    nhs_typo: float = 0.02
    moved: float = 0.05
    postcode_missing: float = 0.02
    address_abbreviated: float = 0.3
    address_typo: float = 0.05
    duplicate_ref: float = 0.02


@dataclass
class Region:
    records: pd.DataFrame  # identity.person_records-like rows, clear values as delivered
    truth: pd.DataFrame  # body, person_ref, person_id
    gazetteer: pd.DataFrame  # uprn, address_line, town, postcode
    people: pd.DataFrame = field(default_factory=pd.DataFrame)


def _nhs_number(rng: random.Random) -> str:
    while True:
        first = f"{rng.randint(400000000, 799999999)}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text))
    kind = rng.random()
    if kind < 0.33:
        return text[:i] + text[i + 1 :]
    if kind < 0.66:
        return text[:i] + rng.choice(string.ascii_uppercase) + text[i + 1 :]
    j = min(i + 1, len(text) - 1)
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _zipf_choice(rng: random.Random, items: list[str], offset: int) -> str:
    # Skewed like real name frequencies (the commonest UK surname is about 1 in 75 people,
    # the commonest given name a few per cent); term-frequency adjustment needs that skew.
    weights = _WEIGHTS.setdefault(
        (len(items), offset), [1 / (r + offset) for r in range(len(items))]
    )
    return rng.choices(items, weights=weights)[0]


_WEIGHTS: dict[tuple[int, int], list[float]] = {}


def _properties(rng: random.Random, count: int) -> pd.DataFrame:
    rows = []
    street_count = max(4, count // 40)
    uprn = 100000000000
    for s in range(street_count):
        street = f"{rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
        if s >= len(STREETS):
            street = f"{rng.choice(STREETS)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
        town = rng.choice(TOWNS)
        district = f"NB{s % 30 + 1}"
        for number in range(1, 41):
            if len(rows) >= count:
                break
            postcode = (
                f"{district} {(s // 30) % 10}{chr(65 + (number // 15) % 26)}{chr(65 + s % 26)}"
            )
            uprn += rng.randint(1, 50)
            rows.append((str(uprn), f"{number} {street}", town, postcode))
    return pd.DataFrame(rows, columns=["uprn", "address_line", "town", "postcode"])


def _people(rng: random.Random, residents: int, properties: pd.DataFrame) -> pd.DataFrame:
    people = []
    today = date(2026, 6, 30)
    person_id = 0
    prop_index = 0
    while len(people) < residents:
        prop = properties.iloc[prop_index % len(properties)]
        prop_index += 1
        family = _zipf_choice(rng, SURNAMES, 10)
        size = rng.choice([1, 1, 2, 2, 3, 4, 5])
        adult_age = rng.randint(20, 85)
        for member in range(size):
            if member < 2:
                age_days = (adult_age + rng.randint(-4, 4)) * 365 + rng.randint(0, 364)
                surname = family if rng.random() < 0.85 else _zipf_choice(rng, SURNAMES, 10)
            else:
                age_days = rng.randint(0, 17 * 365)
            sex = rng.choice("MF")
            given = _zipf_choice(rng, MALE if sex == "M" else FEMALE, 5)
            dob = today - timedelta(days=max(age_days, 1))
            person_id += 1
            people.append(
                dict(
                    person_id=f"T{person_id:07d}",
                    given_name=given,
                    family_name=surname if member < 2 else family,
                    date_of_birth=dob,
                    sex=sex,
                    nhs_number=_nhs_number(rng),
                    uprn=prop.uprn,
                    address_line=prop.address_line,
                    town=prop.town,
                    postcode=prop.postcode,
                )
            )
            if member >= 2 and rng.random() < 0.04:
                # A twin: same family name, date of birth and address, another given name.
                twin_sex = rng.choice("MF")
                names = [n for n in (MALE if twin_sex == "M" else FEMALE) if n != given]
                person_id += 1
                people.append(
                    dict(
                        people[-1],
                        person_id=f"T{person_id:07d}",
                        given_name=rng.choice(names),
                        sex=twin_sex,
                        nhs_number=_nhs_number(rng),
                    )
                )
    return pd.DataFrame(people[:residents])


def _age(dob: date) -> int:
    return (date(2026, 6, 30) - dob).days // 365


def _deliver(rng, person, body, ref, noise: NoiseRates, properties) -> dict:
    _, _, nhs_share, uprn_share, sex_codes, upper = BODIES[body]
    given, family = person.given_name, person.family_name
    if rng.random() < noise.nickname and given in NICKNAMES:
        given = rng.choice(NICKNAMES[given])
    if rng.random() < noise.typo_given:
        given = _typo(rng, given)
    if rng.random() < noise.typo_family:
        family = _typo(rng, family)
    if rng.random() < noise.swapped_names:
        given, family = family, given
    dob = person.date_of_birth
    if rng.random() < noise.dob_transposed and dob.day <= 12 and dob.day != dob.month:
        dob = date(dob.year, dob.day, dob.month)
    elif rng.random() < noise.dob_typo:
        dob = dob + timedelta(days=rng.choice([-10, -1, 1, 10, 365, -365]))
    address, postcode, town, uprn = person.address_line, person.postcode, person.town, person.uprn
    if rng.random() < noise.moved:
        # An address the person lived at before or after: another property in the region.
        other = properties.iloc[rng.randrange(len(properties))]
        address, postcode, town, uprn = other.address_line, other.postcode, other.town, other.uprn
    if rng.random() < noise.address_abbreviated:
        number, *words = address.split(" ")
        words[-1] = ABBREVIATIONS.get(words[-1], words[-1])
        address = " ".join([number, *words])
    if rng.random() < noise.address_typo:
        address = _typo(rng, address)
    if rng.random() < noise.postcode_missing:
        postcode = None
    elif rng.random() < 0.3:
        postcode = postcode.replace(" ", "")
    nhs = person.nhs_number if rng.random() < nhs_share else None
    if nhs and rng.random() < noise.nhs_missing:
        nhs = None
    if nhs and rng.random() < noise.nhs_typo:
        nhs = _typo(rng, nhs)
    if nhs and rng.random() < 0.3:
        nhs = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    sex = {"M": sex_codes[0], "F": sex_codes[1]}[person.sex]
    if rng.random() < 0.02:
        sex = sex_codes[2]
    if not upper:
        given, family = given.title(), family.title()
    return dict(
        body=body,
        person_ref=ref,
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        sex=sex,
        postcode=postcode,
        address=f"{address.title() if not upper else address}, {town.title()}",
        nhs_number=nhs,
        uprn=uprn if rng.random() < uprn_share else None,
    )


def generate(residents: int = 2000, seed: int = 7, noise: NoiseRates | None = None) -> Region:
    """A seeded region: every body's person records, the truth and the gazetteer."""
    noise = noise or NoiseRates()
    rng = random.Random(seed)
    properties = _properties(rng, max(10, residents // 2))
    people = _people(rng, residents, properties)
    records, truth = [], []
    for body, (share, (low, high), *_rest) in BODIES.items():
        serial = rng.randint(10000, 90000)
        for person in people.itertuples(index=False):
            if not low <= _age(person.date_of_birth) <= high or rng.random() >= share:
                continue
            refs = 2 if rng.random() < noise.duplicate_ref else 1
            for _ in range(refs):
                serial += rng.randint(1, 9)
                ref = f"{body[:3].upper()}{serial}"
                for _delivery in range(rng.choice([1, 1, 2])):
                    records.append(_deliver(rng, person, body, ref, noise, properties))
                truth.append((body, ref, person.person_id))
    frame = pd.DataFrame(records)
    frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"]).dt.date
    return Region(
        records=frame,
        truth=pd.DataFrame(truth, columns=["body", "person_ref", "person_id"]),
        gazetteer=properties,
        people=people,
    )


def write_identity(
    url: str,
    records: pd.DataFrame,
    delivery: str = "synthetic/2026-01-31",
    period: str = "2026-01",
    key: bytes | None = None,
) -> None:
    """Insert records into identity.person_records as the ingestion loader would: each body's
    rows as one delivery, each distinct record once (its first row, with the rows carrying
    it)."""
    from ingestion.pseudonymise import DEMO_KEY, Pseudonymiser
    from ingestion.raw_tables import (
        IDENTITY_COLUMNS,
        IDENTITY_DDL,
        IDENTITY_VALUES_START,
        RECORD_ROW_COUNTS_COLUMNS,
    )
    from jigsaw.database import connect
    from linkage.store import copy_rows

    tokens = Pseudonymiser(key or DEMO_KEY.encode())
    rows = records.copy()
    rows["entity"] = rows.get("entity", "people")
    rows["_delivery_id"] = [f"{b}/{delivery}" for b in rows["body"]]
    rows["_period"] = period
    rows["_first_row_number"] = rows.groupby("body").cumcount() + 1
    rows["person_ref_token"] = [
        tokens.token(f"{b}:person_ref", r)
        for b, r in zip(rows["body"], rows["person_ref"], strict=True)
    ]
    record = ["body", "entity", *IDENTITY_COLUMNS[IDENTITY_VALUES_START:]]
    rows["_rows"] = rows.groupby(record, dropna=False, sort=False)["body"].transform("size")
    rows = rows.drop_duplicates(subset=record)
    repeated = rows[rows["_rows"] > 1]
    with connect(url) as conn:
        conn.execute(IDENTITY_DDL)
        copy_rows(conn, "identity.person_records", list(IDENTITY_COLUMNS), rows)
        copy_rows(conn, "identity.record_row_counts", list(RECORD_ROW_COUNTS_COLUMNS), repeated)


def write_gazetteer(url: str, gazetteer: pd.DataFrame, period: str = "2026-01") -> None:
    """Insert the properties into raw_reference.gazetteer, made with the loader's own DDL."""
    from ingestion.raw_tables import create_raw_table
    from ingestion.spec import load_specs
    from jigsaw.database import connect
    from linkage.store import copy_rows

    spec = next(s for s in load_specs() if s.body == "reference")
    rows = gazetteer.assign(
        _delivery_key=1,  # no ledger here: linkage reads the rows, not their delivery
        _period=period,
        _source_row_number=range(1, len(gazetteer) + 1),
        lsoa_code="E01000001",
        ward_code="E05000001",
        local_authority_code="E08000001",
        easting=400000,
        northing=300000,
    )
    columns = [
        "_delivery_key",
        "_period",
        "_source_row_number",
        "uprn",
        "address_line",
        "town",
        "postcode",
        "lsoa_code",
        "ward_code",
        "local_authority_code",
        "easting",
        "northing",
    ]
    with connect(url) as conn:
        create_raw_table(conn, spec, spec.entities_by_name["gazetteer"])
        copy_rows(conn, "raw_reference.gazetteer", columns, rows)
