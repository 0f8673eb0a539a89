"""The demo region simulator: deterministic, parseable under every spec, effects present."""

from __future__ import annotations

import csv
import filecmp
import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from ingestion.demo_region import RegionConfig, generate_region
from ingestion.demo_region.effects import measure_effects
from ingestion.identifiers import nhs_number_is_valid
from ingestion.spec import load_specs
from tests.demo_region.spec_check import FileRejected, read_records
from tests.regions import EFFECTS, END_TO_END, SMALL

SPECS = {s.body: s for s in load_specs()}


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("region")
    generate_region(SMALL, root / "landing", root / "truth")
    return root / "landing", root / "truth"


def _truth(truth: Path, name: str) -> list[dict]:
    with open(truth / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _all_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(region, tmp_path):
    landing, truth = region
    generate_region(SMALL, tmp_path / "landing", tmp_path / "truth")
    for ours, theirs in ((landing, tmp_path / "landing"), (truth, tmp_path / "truth")):
        first, second = _all_files(ours), _all_files(theirs)
        assert first.keys() == second.keys()
        different = [name for name in first if first[name] != second[name]]
        assert not different, f"files differ between runs: {different[:5]}"
    assert any(name.endswith(".xlsx") for name in _all_files(landing))


def test_another_seed_gives_another_region(region, tmp_path):
    landing, _ = region
    other = RegionConfig(
        residents=SMALL.residents, months=2, seed=SMALL.seed + 1, sensor_share=0.01
    )
    generate_region(other, tmp_path / "landing", tmp_path / "truth")
    name = "reference/2023-12-29/gazetteer_2024-01.csv"
    assert not filecmp.cmp(landing / name, tmp_path / "landing" / name, shallow=False)


def test_every_body_delivers_every_month_in_its_own_folder_layout(region):
    landing, truth = region
    deliveries = _truth(truth, "deliveries.csv")
    for body, spec in SPECS.items():
        for entity in spec.entities:
            periods = {
                d["period"] for d in deliveries if d["body"] == body and d["entity"] == entity.name
            }
            # August's school extracts are delivered too, with a header and no rows.
            expected = 2 if body == "reference" else SMALL.months
            assert len(periods) == expected, (body, entity.name)
    for d in deliveries:
        path = landing / d["file"]
        assert path.is_file()
        body, delivered, name = d["file"].split("/")
        entity = SPECS[body].entities_by_name[d["entity"]]
        match = entity.file_regex().match(name)
        assert match and match["period"] == d["period"]
        if body != "reference":  # the gazetteer arrives before the period it starts
            assert delivered > d["period"]


def test_clean_rows_parse_under_their_spec_and_corrupt_ones_do_not(region):
    landing, truth = region
    corrupt_rows = defaultdict(dict)
    for row in _truth(truth, "corrupt_rows.csv"):
        corrupt_rows[row["file"]][int(row["row_number"])] = row["kind"]
    checked_rows = 0
    for d in _truth(truth, "deliveries.csv"):
        entity = SPECS[d["body"]].entities_by_name[d["entity"]]
        if d["kind"] == "corrupt_file":
            with pytest.raises(FileRejected):
                records = read_records(entity, landing / d["file"])
                bad = [r for r in records if isinstance(r, str)]
                if bad:  # a file may also be readable but every row broken
                    raise FileRejected(bad[0])
            continue
        records = read_records(entity, landing / d["file"])
        assert len(records) == int(d["rows_written"]), d["file"]
        expected_bad = corrupt_rows.get(d["file"], {})
        for number, record in enumerate(records, start=1):
            if number in expected_bad:
                assert isinstance(record, str), (d["file"], number, expected_bad[number])
            else:
                assert isinstance(record, dict), (d["file"], number, record)
                checked_rows += 1
    assert checked_rows > 10_000
    assert sum(len(v) for v in corrupt_rows.values()) > 0


def test_person_refs_map_to_exactly_one_true_person(region):
    landing, truth = region
    mapping = defaultdict(set)
    for row in _truth(truth, "person_records.csv"):
        mapping[(row["body"], row["person_ref"])].add(row["person_id"])
    assert all(len(people) == 1 for people in mapping.values())
    people = {row["person_id"]: row for row in _truth(truth, "people.csv")}
    assert all(nhs_number_is_valid(p["nhs_number"]) for p in people.values())
    for d in _truth(truth, "deliveries.csv"):
        if d["kind"] != "normal":
            continue
        entity = SPECS[d["body"]].entities_by_name[d["entity"]]
        ref = entity.person_ref_column
        if ref is None:
            continue
        for record in read_records(entity, landing / d["file"]):
            if isinstance(record, dict):
                assert (d["body"], record[ref.name]) in mapping, (d["file"], record[ref.name])


def test_identity_noise_is_present_but_mostly_agrees(region):
    """A&E rows: NHS numbers mostly right, some missing, some failing the check digit."""
    landing, truth = region
    who = {
        r["person_ref"]: r["person_id"]
        for r in _truth(truth, "person_records.csv")
        if r["body"] == "acute_trust"
    }
    people = {r["person_id"]: r for r in _truth(truth, "people.csv")}
    entity = SPECS["acute_trust"].entities_by_name["ae_attendances"]
    agree = missing = invalid = total = 0
    for path in sorted(landing.glob("acute_trust/*/ae_attendances_*.txt")):
        try:
            records = read_records(entity, path)
        except FileRejected:
            continue
        for record in records:
            if isinstance(record, str):
                continue
            total += 1
            person = people[who[record["mrn"]]]
            nhs = record["nhs_number"]
            missing += not nhs
            invalid += bool(nhs) and not nhs_number_is_valid(nhs)
            agree += nhs == person["nhs_number"]
    assert total > 300
    assert 0.8 < agree / total < 0.97
    assert missing > 0 and invalid > 0


@pytest.fixture(scope="module")
def effects_region(tmp_path_factory) -> Path:
    """The EFFECTS region's ground truth."""
    root = tmp_path_factory.mktemp("effects")
    generate_region(EFFECTS, root / "landing", root / "truth")
    return root / "truth"


def _full_rows(deliveries: list[dict]) -> dict[tuple[str, str, str], int]:
    """(body, entity, period) -> rows in the period's complete extract (a first file that is
    corrected later lacks some; a corrupt file and its correction carry them all)."""
    rows: dict[tuple[str, str, str], int] = defaultdict(int)
    for d in deliveries:
        key = (d["body"], d["entity"], d["period"])
        rows[key] = max(rows[key], int(d["rows_written"]))
    return rows


def _seeds_of(config: RegionConfig, count: int = 6) -> list[RegionConfig]:
    return [replace(config, seed=config.seed + k) for k in range(count)]


@pytest.mark.parametrize("config", _seeds_of(END_TO_END), ids=lambda c: f"seed{c.seed}")
def test_the_end_to_end_region_gives_every_body_rows_every_month(config, tmp_path):
    """On any seed, not only the one the end-to-end test uses: every body delivers rows for
    every period, every extract has rows in every period but repairs (a housing provider's
    month may have none), and so every raw table the gates read is not empty."""
    generate_region(config, tmp_path / "landing", tmp_path / "truth")
    rows = _full_rows(_truth(tmp_path / "truth", "deliveries.csv"))
    periods = {period for _, _, period in rows}
    assert len(periods) == config.months
    for body, spec in SPECS.items():
        body_periods = {p for (b, _, p) in rows if b == body}
        for period in body_periods:
            assert sum(n for (b, _, p), n in rows.items() if (b, p) == (body, period)), (
                body,
                period,
            )
        for entity in spec.entities:
            counts = [n for (b, e, _), n in rows.items() if (b, e) == (body, entity.name)]
            assert sum(counts) > 0, (body, entity.name)
            if entity.name != "repairs":
                assert min(counts) > 0, (body, entity.name, counts)


@pytest.mark.parametrize("config", _seeds_of(END_TO_END), ids=lambda c: f"seed{c.seed}")
def test_a_corrected_file_never_repeats_the_bytes_it_corrects(config, tmp_path):
    """The ledger calls the same bytes for the same extract and period a duplicate, rightly:
    so a file the simulator calls a correction must differ from the one it corrects."""
    generate_region(config, tmp_path / "landing", tmp_path / "truth")
    kinds = defaultdict(list)
    for d in _truth(tmp_path / "truth", "deliveries.csv"):
        kinds[d["body"], d["entity"], d["period"], d["sha256"]].append(d["kind"])
    corrected = sum(k.count("corrected") for k in kinds.values())
    assert corrected > 0  # the case is exercised
    for key, same_bytes in kinds.items():
        assert len(same_bytes) - same_bytes.count("duplicate") == 1, (key, same_bytes)


def test_the_hardship_caseload_is_steady_from_the_first_month(effects_region):
    """Hardship under way at the start comes from a burn-in of the monthly process, so the
    revenues and benefits caseload neither falls nor climbs by itself (it once fell by three
    quarters over the first 18 months). Band: every month's council tax support caseload
    within 20 % of the run's median, and the last quarter's mean within 15 % of the first's."""
    rows = _full_rows(_truth(effects_region, "deliveries.csv"))
    caseload = [
        n
        for (body, entity, _), n in sorted(rows.items(), key=lambda item: item[0][2])
        if (body, entity) == ("revenues_benefits", "council_tax_support")
    ]
    assert len(caseload) == EFFECTS.months
    median = sorted(caseload)[len(caseload) // 2]
    assert all(0.8 * median <= n <= 1.2 * median for n in caseload), caseload
    quarter = len(caseload) // 4
    first, last = caseload[:quarter], caseload[-quarter:]
    assert 0.85 <= (sum(last) / quarter) / (sum(first) / quarter) <= 1.15, caseload


def test_planted_effects_are_measurable_from_the_ground_truth(effects_region):
    measured = measure_effects(effects_region, EFFECTS.effects)
    written = json.loads((effects_region / "effects.json").read_text())
    for name in ("damp_respiratory", "betting_hardship"):
        effect = measured[name]
        assert effect == written[name]
        planted = effect["planted_rate_ratio"]
        assert effect["ci95"][0] > 1.0, (name, effect)
        assert 0.6 * planted < effect["rate_ratio"] < 1.6 * planted, (name, effect)
    pattern = measured["multi_agency_pattern"]
    assert pattern["ci95"][0] > 5
    assert pattern["share_of_plans_preceded"] > 0.5


def test_no_effect_planted_means_none_measured(tmp_path):
    config = replace(
        EFFECTS, effects=replace(EFFECTS.effects, damp_rate_ratio=1.0, betting_rate_ratio=1.0)
    )
    generate_region(config, tmp_path / "landing", tmp_path / "truth")
    measured = measure_effects(tmp_path / "truth", config.effects)
    for name in ("damp_respiratory", "betting_hardship"):
        low, high = measured[name]["ci95"]
        assert low < 1.0 < high, (name, measured[name])


def test_the_loader_reads_exactly_the_clean_rows(region):
    """The ingestion readers and row builder reject what was corrupted, and only that."""
    from ingestion import raw_rows, readers
    from ingestion.pseudonymise import Pseudonymiser

    landing, truth = region
    corrupt_rows = defaultdict(set)
    for row in _truth(truth, "corrupt_rows.csv"):
        corrupt_rows[row["file"]].add(int(row["row_number"]))
    pseudonymiser = Pseudonymiser(key=b"demo-region-test")
    for d in _truth(truth, "deliveries.csv"):
        spec = SPECS[d["body"]]
        entity = spec.entities_by_name[d["entity"]]
        path = landing / d["file"]
        build = raw_rows.RowBuilder(
            spec.body,
            entity,
            pseudonymiser,
            ("id", "p", "sha"),
            (spec.body, entity.name, "id", "p"),
        ).build
        problems = set()
        try:
            for number, values, _, problem in readers.read_records(path, entity):
                if problem is None:
                    try:
                        build(values, number)
                    except raw_rows.RowProblem:
                        problem = True
                if problem:
                    problems.add(number)
        except readers.FileRejected:
            assert d["kind"] == "corrupt_file", d["file"]
            continue
        if d["kind"] == "corrupt_file":
            assert problems and len(problems) == int(d["rows_written"]), d["file"]
        else:
            assert problems == corrupt_rows.get(d["file"], set()), d["file"]


def test_command_line_writes_a_region_and_prints_a_summary(tmp_path, capsys):
    from ingestion.demo_region.__main__ import main

    args = ["--residents", "300", "--months", "2", "--seed", "3"]
    assert main([*args, "--landing", str(tmp_path / "l"), "--truth", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    for body in SPECS:
        assert body in out
    assert (tmp_path / "l" / "police").is_dir()
    assert (tmp_path / "t" / "effects.json").is_file()
    assert not list((tmp_path / "l").glob("*.csv"))  # the truth never lands in landing
