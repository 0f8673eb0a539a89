"""Generate the whole demo region: landing deliveries for every body plus the ground truth."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from ingestion.demo_region.config import RegionConfig, month_start, period
from ingestion.demo_region.deliveries import Deliverer
from ingestion.demo_region.effects import measure_effects
from ingestion.demo_region.formats import encode_sensor_lines
from ingestion.demo_region.geography import (
    LOCAL_AUTHORITIES,
    NO_DAMP,
    TENURE_NAMES,
    build_geography,
)
from ingestion.demo_region.population import MALE_SEX, Population
from ingestion.demo_region.truth import TruthWriter, household_id, person_id
from ingestion.demo_region.world import NEVER, World
from ingestion.spec import load_specs
from jigsaw.paths import ground_truth_dir, landing_dir

TRUTH_FILES = (
    "people.csv",
    "person_records.csv",
    "households.csv",
    "residence.csv",
    "properties.csv",
    "areas.csv",
    "events.csv",
    "deliveries.csv",
    "corrupt_rows.csv",
    "effects.json",
)


@dataclass
class RegionSummary:
    config: RegionConfig
    landing: Path
    truth: Path
    seconds: float = 0.0
    bodies: dict[str, dict[str, int]] = field(default_factory=dict)
    demography: dict[str, int] = field(default_factory=dict)
    residents_at_end: int = 0

    def text(self) -> str:
        lines = [
            f"demo region: {self.config.residents:,} residents, seed {self.config.seed}, "
            f"{self.config.months} months from {self.config.start}, "
            f"{self.seconds:.1f} s",
            f"  landing: {self.landing}",
            f"  ground truth: {self.truth}",
            f"  {'body':<24}{'files':>7}{'rows':>12}{'MB':>10}",
        ]
        for body in sorted(self.bodies):
            s = self.bodies[body]
            lines.append(f"  {body:<24}{s['files']:>7}{s['rows']:>12,}{s['bytes'] / 1e6:>10.1f}")
        events = ", ".join(f"{k} {v:,}" for k, v in self.demography.items())
        lines.append(f"  life events: {events}; residents at end {self.residents_at_end:,}")
        return "\n".join(lines)


def _clear(landing: Path, truth: Path, bodies: list[str]) -> None:
    """Remove a previous region's output (only the folders and files this module writes)."""
    for body in bodies:
        shutil.rmtree(landing / body, ignore_errors=True)
    for name in TRUTH_FILES:
        (truth / name).unlink(missing_ok=True)


def generate_region(
    config: RegionConfig | None = None, landing: Path | None = None, truth: Path | None = None
) -> RegionSummary:
    config = config or RegionConfig.from_env()
    landing = Path(landing or landing_dir())
    truth_path = Path(truth or ground_truth_dir())
    began = time.perf_counter()
    specs = {s.body: s for s in load_specs()}
    _clear(landing, truth_path, list(specs))
    seeds = np.random.SeedSequence(config.seed).spawn(3)
    geo = build_geography(np.random.default_rng(seeds[0]), config.residents, config.months)
    writer = TruthWriter(config, truth_path, geo.uprn)
    pop = Population(
        np.random.default_rng(seeds[1]),
        geo,
        config.residents,
        config.start_date,
        writer,
        shared_address_share=config.shared_address_share,
        twin_share=config.twin_share,
    )
    world = World(config, geo, pop, writer, np.random.default_rng(seeds[2]))
    deliverer = Deliverer(config, landing, writer)
    summary = RegionSummary(config, landing, truth_path)

    _deliver_reference(config, specs["reference"], geo, pop, deliverer)
    demography: dict[str, int] = {}
    sensors = specs["home_sensors"].entities_by_name["sensor_readings"]
    for m in range(config.months):
        mid = month_start(config, m) + timedelta(days=14)
        for key, value in pop.step(m, mid).items():
            demography[key] = demography.get(key, 0) + value
        for body, extracts in world.month(m).items():
            spec = specs[body]
            for entity_name, rows in extracts.items():
                deliverer.deliver(spec, spec.entities_by_name[entity_name], m, rows)
        if world.sensors:  # a region configured without sensors has no sensor programme
            lines = list(world.sensor_lines(m))
            deliverer.deliver(specs["home_sensors"], sensors, m, lines, encoder=encode_sensor_lines)
    pop.close_all(config.months - 1)
    _write_people(writer, pop, geo)
    _write_person_records(writer, world)
    _write_places(writer, geo, world, config)
    writer.close()
    effects = measure_effects(truth_path, config.effects)
    effects["planted"] = asdict(config.effects)
    effects["betting_openings"] = [
        {
            "uprn": geo.uprn[p],
            "period": period(config, m),
            "easting": float(geo.easting[p]),
            "northing": float(geo.northing[p]),
        }
        for p, m in world.betting_openings
    ]
    effects["config"] = {
        "residents": config.residents,
        "seed": config.seed,
        "months": config.months,
        "start": config.start,
        "identity_noise": asdict(config.identity),
        "delivery_noise": asdict(config.delivery),
    }
    (truth_path / "effects.json").write_text(json.dumps(effects, indent=2, sort_keys=True) + "\n")
    summary.bodies = dict(deliverer.stats)
    summary.demography = demography
    summary.residents_at_end = int(pop.alive[: pop.n].sum())
    summary.seconds = time.perf_counter() - began
    return summary


def _deliver_reference(config, spec, geo, pop, deliverer) -> None:
    decile = geo.deprivation_decile()
    order = np.argsort(-geo.imd_score, kind="stable")
    rank = np.empty(len(order), int)
    rank[order] = np.arange(1, len(order) + 1)
    residents = np.bincount(geo.lsoa[pop.property_of(pop.living())], minlength=len(geo.lsoas))
    gazetteer = []
    for i in range(geo.n_properties):
        lsoa = geo.lsoas[int(geo.lsoa[i])]
        ward = geo.wards[lsoa.parent]
        la = LOCAL_AUTHORITIES[ward.parent]
        gazetteer.append(
            {
                "uprn": geo.uprn[i],
                "address_line": geo.address[i],
                "town": la[2].title(),
                "postcode": geo.postcode[i],
                "property_type": geo.property_type[i],
                "lsoa_code": lsoa.code,
                "lsoa_name": lsoa.name,
                "ward_code": ward.code,
                "ward_name": ward.name,
                "local_authority_code": la[0],
                "local_authority_name": la[1],
                "easting": float(geo.easting[i]),
                "northing": float(geo.northing[i]),
            }
        )
    deprivation = [
        {
            "lsoa_code": a.code,
            "imd_score": float(geo.imd_score[i]),
            "imd_rank": int(rank[i]),
            "imd_decile": int(decile[i]),
            "population": int(residents[i]),
        }
        for i, a in enumerate(geo.lsoas)
    ]
    refreshes = [0] + ([12] if config.months > 12 else [])
    for m in refreshes:
        when = month_start(config, m) - timedelta(days=3)
        deliverer.deliver(spec, spec.entities_by_name["gazetteer"], m, gazetteer, when)
        deliverer.deliver(spec, spec.entities_by_name["deprivation"], m, deprivation, when)


def _write_people(writer: TruthWriter, pop: Population, geo) -> None:
    def rows():
        for i in range(pop.n):
            born = int(pop.born_month[i])
            died = int(pop.death_month[i])
            changed = int(pop.name_changed[i])
            twin = int(pop.twin_of[i])
            yield [
                person_id(i),
                pop.given[i],
                pop.family[i],
                pop.first_family[i],
                np.datetime64(int(pop.dob[i]) - 719_163, "D").astype(str),
                "M" if pop.sex[i] == MALE_SEX else "F",
                str(pop.nhs[i]),
                writer.period(born) if born >= 0 else "",
                writer.period(died) if died >= 0 else "",
                writer.period(changed) if changed >= 0 else "",
                person_id(twin) if twin >= 0 else "",
                household_id(int(pop.hh[i])),
            ]

    writer.table(
        "people.csv",
        [
            "person_id",
            "given_name",
            "family_name",
            "birth_family_name",
            "date_of_birth",
            "sex",
            "nhs_number",
            "born_period",
            "died_period",
            "name_changed_period",
            "twin_of",
            "last_household_id",
        ],
        rows(),
    )


def _write_person_records(writer: TruthWriter, world: World) -> None:
    def rows():
        for body, clerk in world.clerks.items():
            for reg in clerk.registrations:
                yield [body, reg.local_id, person_id(reg.person)]

    writer.table("person_records.csv", ["body", "person_ref", "person_id"], rows())


def _write_places(writer: TruthWriter, geo, world: World, config: RegionConfig) -> None:
    sensor_of = {s["prop"]: s["serial"] for s in world.sensors}

    def month_or_blank(m: int) -> str:
        return writer.period(m) if m not in (NEVER, NO_DAMP) else ""

    def properties():
        for i in range(geo.n_properties):
            lsoa = geo.lsoas[int(geo.lsoa[i])]
            ward = geo.wards[lsoa.parent]
            yield [
                geo.uprn[i],
                geo.address[i],
                geo.postcode[i],
                geo.property_type[i],
                TENURE_NAMES[int(geo.tenure[i])],
                lsoa.code,
                ward.code,
                LOCAL_AUTHORITIES[ward.parent][0],
                float(geo.easting[i]),
                float(geo.northing[i]),
                month_or_blank(int(geo.damp_since[i])),
                month_or_blank(int(world.opened_at[i])),
                month_or_blank(int(world.exposed_from[i])),
                sensor_of.get(i, ""),
            ]

    writer.table(
        "properties.csv",
        [
            "uprn",
            "address",
            "postcode",
            "property_type",
            "tenure",
            "lsoa_code",
            "ward_code",
            "local_authority_code",
            "easting",
            "northing",
            "damp_since_period",
            "betting_opened_period",
            "betting_exposed_from_period",
            "sensor_serial",
        ],
        properties(),
    )

    def areas():
        for i, lsoa in enumerate(geo.lsoas):
            ward = geo.wards[lsoa.parent]
            la = LOCAL_AUTHORITIES[ward.parent]
            yield [
                lsoa.code,
                lsoa.name,
                ward.code,
                ward.name,
                la[0],
                la[1],
                float(geo.imd_score[i]),
            ]

    writer.table(
        "areas.csv",
        [
            "lsoa_code",
            "lsoa_name",
            "ward_code",
            "ward_name",
            "local_authority_code",
            "local_authority_name",
            "imd_score",
        ],
        areas(),
    )
