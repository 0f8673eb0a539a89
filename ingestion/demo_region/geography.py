"""The region's places: three local authorities, wards, LSOAs, postcodes and properties."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ingestion.demo_region.names import STREET_KINDS, STREET_ROOTS

LOCAL_AUTHORITIES = (
    # code, name, post town, postcode area, share of LSOAs
    ("E08099001", "Northbridge", "NORTHBRIDGE", "NB", 0.5),
    ("E08099002", "Eastmoor", "EASTMOOR", "EM", 0.3),
    ("E08099003", "Westhaven", "WESTHAVEN", "WH", 0.2),
)
# Postcode inward-code letters (the Royal Mail never uses C, I, K, M, O or V there).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

OWNER, PRIVATE_RENTED, SOCIAL, COMMERCIAL = 0, 1, 2, 3
TENURE_NAMES = ("owner_occupied", "private_rented", "social_rented", "commercial")
PROPERTIES_PER_LSOA = 700
CELL_METRES = 700.0  # LSOAs sit on a grid of cells this wide
NO_DAMP = -10_000


@dataclass
class Area:
    code: str
    name: str
    parent: int  # index of the ward (for an LSOA) or local authority (for a ward)


@dataclass
class Geography:
    wards: list[Area]
    lsoas: list[Area]
    imd_score: np.ndarray  # per LSOA, higher is more deprived
    # Properties (residential first, then commercial), one entry per UPRN.
    uprn: list[str]
    address: list[str]
    street: list[tuple[str, str]]  # (root, kind) so bodies can abbreviate the kind
    number: list[str]  # "12" or "Flat 3, 12"
    postcode: list[str]
    property_type: list[str]
    lsoa: np.ndarray
    easting: np.ndarray
    northing: np.ndarray
    tenure: np.ndarray
    damp_since: np.ndarray  # month index damp began (negative: before the period), or NO_DAMP
    n_residential: int

    @property
    def n_properties(self) -> int:
        return len(self.uprn)

    def deprivation_decile(self) -> np.ndarray:
        order = np.argsort(-self.imd_score, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return (rank * 10 // len(order) + 1).astype(int)


def build_geography(rng: np.random.Generator, residents: int, months: int) -> Geography:
    n_residential = math.ceil(residents / 2.27 * 1.15)
    n_commercial = max(20, residents // 120)
    n_lsoa = max(12, round(n_residential / PROPERTIES_PER_LSOA))
    n_wards = max(6, round(n_lsoa / 4))

    # Wards split between authorities by share; LSOAs split evenly between wards in order.
    counts = [max(1, round(n_wards * la[4])) for la in LOCAL_AUTHORITIES]
    counts[0] += n_wards - sum(counts)
    ward_la = [la for la, count in enumerate(counts) for _ in range(count)]
    wards = []
    per_la_count = [0, 0, 0]
    for w, la in enumerate(ward_la):
        per_la_count[la] += 1
        la_name = LOCAL_AUTHORITIES[la][1]
        root = STREET_ROOTS[(w * 7) % len(STREET_ROOTS)]
        wards.append(Area(f"E05{99000 + w + 1:06d}", f"{la_name} {root}", la))
    lsoa_ward = np.minimum(np.arange(n_lsoa) * n_wards // n_lsoa, n_wards - 1)
    lsoas = []
    seq_in_la = [0, 0, 0]
    for i in range(n_lsoa):
        la = wards[lsoa_ward[i]].parent
        seq_in_la[la] += 1
        lsoas.append(
            Area(
                f"E01{990000 + i + 1:06d}",
                f"{LOCAL_AUTHORITIES[la][1]} {seq_in_la[la]:03d}A",
                int(lsoa_ward[i]),
            )
        )
    imd = np.round(rng.lognormal(mean=3.0, sigma=0.55, size=n_lsoa), 3)
    cols = math.ceil(math.sqrt(n_lsoa))
    centre = np.array(
        [
            [380_000 + (i % cols) * CELL_METRES, 390_000 + (i // cols) * CELL_METRES]
            for i in range(n_lsoa)
        ]
    )
    depr = (imd - imd.min()) / max(1e-9, imd.max() - imd.min())

    uprn, address, street, number, postcode, ptype = [], [], [], [], [], []
    lsoa_of, tenure = [], []
    next_uprn = 100_070_000_000
    postcode_seq = [0] * n_wards
    ward_rank = [sum(1 for x in ward_la[:w] if x == ward_la[w]) + 1 for w in range(n_wards)]

    def new_postcode(lsoa_index: int) -> str:
        w = int(lsoa_ward[lsoa_index])
        k = postcode_seq[w]
        postcode_seq[w] += 1
        area = LOCAL_AUTHORITIES[ward_la[w]][3]
        letters = INWARD_LETTERS[(k // 20) % 20] + INWARD_LETTERS[k % 20]
        return f"{area}{ward_rank[w]} {(k // 400) % 10}{letters}"

    per_lsoa = np.bincount(rng.integers(0, n_lsoa, size=n_residential), minlength=n_lsoa)
    xy: list[tuple[float, float]] = []
    half = CELL_METRES / 2

    def place(text: str, kind_of_property: str, lsoa_index: int, road, code, at) -> None:
        number.append(text)
        ptype.append(kind_of_property)
        street.append(road)
        postcode.append(code)
        lsoa_of.append(lsoa_index)
        xy.append(at)

    for i in range(n_lsoa):
        remaining = int(per_lsoa[i])
        while remaining > 0:
            road = (
                STREET_ROOTS[int(rng.integers(len(STREET_ROOTS)))],
                STREET_KINDS[int(rng.integers(len(STREET_KINDS)))],
            )
            size = min(remaining, int(rng.integers(8, 26)))
            code = new_postcode(i)
            # A street runs from a random point in its LSOA's cell in a random direction.
            x0, y0 = centre[i] + rng.uniform(-half * 0.8, half * 0.8, size=2)
            angle = rng.uniform(0, math.pi)
            house, placed = 1, 0
            while placed < size:
                along = 9.0 * house - 90
                at = (
                    round(float(x0 + along * math.cos(angle)), 1),
                    round(float(y0 + along * math.sin(angle)), 1),
                )
                roll = rng.random()
                if roll < 0.3 and size - placed >= 4:
                    flats = min(int(rng.integers(4, 9)), size - placed)
                    for f in range(1, flats + 1):  # flats in one building share its position
                        place(f"Flat {f}, {house}", "flat", i, road, code, at)
                    placed += flats
                else:
                    place(str(house), "bungalow" if roll > 0.9 else "house", i, road, code, at)
                    placed += 1
                house += 1 + int(rng.random() < 0.5)  # odd/even sides of the street
            remaining -= size
    for i in range(len(number)):
        next_uprn += int(rng.integers(1, 40))
        uprn.append(str(next_uprn))
        p_social = 0.04 + 0.36 * depr[lsoa_of[i]]
        roll = rng.random()
        tenure.append(
            SOCIAL if roll < p_social else PRIVATE_RENTED if roll < p_social + 0.2 else OWNER
        )
    # Commercial premises cluster on high streets in the more deprived LSOAs.
    weights = 0.5 + depr
    weights = weights / weights.sum()
    commercial_lsoa = rng.choice(n_lsoa, size=n_commercial, p=weights)
    on_parade = [0] * n_lsoa
    for i in commercial_lsoa.tolist():
        next_uprn += int(rng.integers(1, 40))
        uprn.append(str(next_uprn))
        on_parade[i] += 1
        at = (
            round(float(centre[i][0] + 8.0 * on_parade[i]), 1),
            round(float(centre[i][1] + 5.0), 1),
        )
        road = (STREET_ROOTS[(i * 3) % len(STREET_ROOTS)], "Parade")
        place(str(on_parade[i]), "commercial", i, road, new_postcode(i), at)
        tenure.append(COMMERCIAL)
    for num, (root, kind) in zip(number, street, strict=True):
        address.append(f"{num} {root} {kind}")

    lsoa_arr = np.array(lsoa_of, dtype=np.int32)
    easting = np.array([p[0] for p in xy])
    northing = np.array([p[1] for p in xy])
    tenure_arr = np.array(tenure, dtype=np.int8)
    damp_rate = np.choose(tenure_arr, [0.03, 0.10, 0.12, 0.0])
    is_damp = rng.random(len(uprn)) < damp_rate
    before = rng.random(len(uprn)) < 0.6
    damp_since = np.where(
        before, -rng.integers(3, 60, size=len(uprn)), rng.integers(1, max(2, months), len(uprn))
    )
    damp_since = np.where(is_damp, damp_since, NO_DAMP).astype(np.int32)
    return Geography(
        wards=wards,
        lsoas=lsoas,
        imd_score=imd,
        uprn=uprn,
        address=address,
        street=street,
        number=number,
        postcode=postcode,
        property_type=ptype,
        lsoa=lsoa_arr,
        easting=easting,
        northing=northing,
        tenure=tenure_arr,
        damp_since=damp_since,
        n_residential=n_residential,
    )
