"""The linker on data shaped unlike the demo region: the mapping, a model built from the
fields present, the twins guard and blocking that stays affordable (real splink runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pandas as pd
import pytest

from benchmarks.linkage_sets import make_set
from jigsaw.paths import REPO_ROOT
from linkage import link_tables
from linkage.evaluation import score
from linkage.inputs import ColumnMapping, MappingError, load_table
from linkage.standardise import standardise

BASE = {"given_name": "first", "family_name": "last"}


@pytest.mark.parametrize(
    "extra,key",
    [
        ({"address": 5}, "'address'"),
        ({"address": ["street", 3]}, "'address'"),
        ({"identifiers": 5}, "'identifiers'"),
        ({"identifiers": {"Member No": "m"}}, "'identifiers'"),
        ({"formats": {"postcode": "french"}}, "'formats.postcode'"),
        ({"formats": {"sex": "%d"}}, "'formats'"),
        ({"formats": "%d.%m.%Y"}, "'formats'"),
        ({"formats": {"date_of_birth": "dd.mm.yyyy"}}, "'formats.date_of_birth'"),
        ({"date_format": "dd.mm"}, "'date_format'"),
        ({"link_type": "link"}, "'link_type'"),
        ({"twins_guard": "yes"}, "'twins_guard'"),
        ({"twins_guard": {"born_apart": 300}}, "'twins_guard'"),
        ({"twins_guard": {"born_apart_days": "300"}}, "'twins_guard.born_apart_days'"),
        ({"twins_guard": {"enabled": 1}}, "'twins_guard.enabled'"),
        ({"given_name": ["a", "b"]}, "'given_name'"),
        ({"record_id": 7}, "'record_id'"),
        ({"nickname": "x"}, "unknown mapping keys ['nickname']"),
    ],
)
def test_every_mapping_error_names_its_key(extra, key):
    with pytest.raises(MappingError) as error:
        ColumnMapping.from_dict({**BASE, **extra})
    assert key in str(error.value)


def test_a_mapping_needs_a_name_and_tables_agree_on_identifiers():
    with pytest.raises(MappingError, match="'given_name'/'family_name'"):
        ColumnMapping.from_dict({"date_of_birth": "dob"})
    frame = pd.DataFrame({"first": ["ANN"], "last": ["LEE"], "m": ["1"]})
    with pytest.raises(MappingError, match="'identifiers'"):
        link_tables([frame, frame], [{**BASE, "identifiers": ["m"]}, BASE])
    with pytest.raises(MappingError, match="mapped columns not found: \\['street'\\]"):
        link_tables([frame], {**BASE, "address": ["street"]})


def test_mapping_joins_address_columns_and_reads_declared_formats():
    frame = pd.DataFrame(
        {
            "first": ["Jörg", "Ann"],
            "last": ["Müller", "Lee"],
            "born": ["03.04.1961", "31.12.1999"],
            "plz": [" 10115 ", "ls11ab"],
            "house": ["12", None],
            "street": ["Hauptstraße", "Park Rd"],
            "town": ["Berlin", "Leeds"],
            "member": ["m-00123 4", None],
        }
    )
    mapping = ColumnMapping.from_dict(
        {
            **BASE,
            "date_of_birth": "born",
            "postcode": "plz",
            "address": ["house", "street", "town"],
            "identifiers": {"member": "member"},
            "formats": {"date_of_birth": "%d.%m.%Y"},
        }
    )
    rows = standardise(load_table(frame, mapping, 1), postcode_format="as_given")
    assert rows["date_of_birth"].tolist() == ["1961-04-03", "1999-12-31"]
    # A German postcode kept as given; a British-shaped one UK-standardised.
    assert rows["postcode"].tolist() == ["10115", "LS1 1AB"]
    assert rows["address"].tolist() == ["12 HAUPTSTRASSE BERLIN", "PARK ROAD LEEDS"]
    assert rows["id_member"].tolist() == ["M001234", None]
    assert mapping.mapped_fields() == [
        "given_name",
        "family_name",
        "date_of_birth",
        "postcode",
        "address",
        "id_member",
    ]


def _linked(name: str, people: int, **options):
    evaluation = make_set(name, people, seed=3)
    result = link_tables(evaluation.tables, evaluation.mapping, **options)
    return evaluation, result, score(result.clusters(), evaluation.truth)


def test_two_tables_in_another_countrys_conventions_are_linked_not_deduplicated():
    evaluation, result, report = _linked("continental_link", 500)
    assert report["true_pairs"] > 200
    assert report["precision"] >= 0.98 and report["recall"] >= 0.93, report
    stats = result.stats
    assert stats["link_type"] == "link_only"  # two inputs: linked by default
    pairs = result.pairs[result.pairs["method"] == "probabilistic"]
    assert len(pairs) and (pairs["source_l"] != pairs["source_r"]).all()
    # Five-digit postcodes were kept, so the postcode rules and comparison are used.
    assert "postcode + family_name" in stats["blocking_rules"]
    assert "id_member" in stats["blocking_rules"] and "id_member" in stats["fields_used"]
    assert "member" in result.model["comparisons"][-1]["output_column_name"]
    # The prior came from rules that exist in this data, not from a clamp.
    assert "id_member" in stats["prior_source"]
    assert 1e-5 < stats["prior"] < 1e-2
    # No blocking rule on date of birth alone (its blocks grow with the square).
    assert "date_of_birth" not in stats["blocking_rules"]


def test_without_postcodes_the_model_blocks_and_estimates_the_prior_on_what_is_there():
    evaluation, result, report = _linked("no_postcode_link", 500)
    stats = result.stats
    assert "postcode" not in stats["fields_used"]
    assert not any("postcode" in rule for rule in stats["blocking_rules"])
    assert not any("postcode" in rule for rule in stats["prior_rules"])
    assert "given_name + family_name + date_of_birth" in stats["prior_source"]
    assert stats["prior"] > 1e-5
    assert report["precision"] >= 0.98 and report["recall"] >= 0.93, report


def test_one_heavily_mistyped_table_is_deduplicated():
    evaluation, result, report = _linked("heavy_typo_dedupe", 400)
    assert result.stats["link_type"] == "dedupe_only"
    assert report["true_pairs"] > 300
    assert report["precision"] >= 0.97 and report["recall"] >= 0.8, report


def test_names_only_data_gets_a_stated_prior_and_mostly_empty_fields_are_reported():
    evaluation = make_set("no_postcode_link", 300, seed=4)
    tables = [t.assign(birth="not a date", extra=None) for t in evaluation.tables]
    mapping = {**evaluation.mapping, "identifiers": {"other": "extra"}}
    mapping.pop("address")
    result = link_tables(tables, mapping)
    stats = result.stats
    assert set(stats["fields_mostly_empty"]) == {"date_of_birth", "id_other"}
    assert stats["fields_mostly_empty"]["date_of_birth"] == 1.0
    assert stats["prior_rules"] == []
    assert stats["prior_source"].startswith("assumed one match per record")
    assert 0 < stats["prior"] < 0.01
    assert stats["links_accepted"] > 0


def _household(**changes) -> pd.DataFrame:
    """Twins (same birthday, family name and address, other given names), a mother and
    daughter of the same name, and one woman twice with a mistyped given name."""
    people = [
        ("TW1", "Hannah", "Quinlan", date(2015, 3, 3), None),
        ("TW2", "Rosalind", "Quinlan", date(2015, 3, 3), None),
        ("MUM", "Mary", "Quinlan", date(1975, 5, 9), None),
        ("KID", "Mary", "Quinlan", date(2004, 5, 9), None),
        ("AN1", "Annabel", "Quinlan", date(1999, 1, 20), None),
        ("AN2", "Anabel", "Quinlan", date(1999, 1, 20), None),
    ]
    rows = pd.DataFrame(people, columns=["ref", "first", "last", "dob", "member"])
    rows = rows.assign(postcode="ZZ9 9ZZ", address="1 Twin Lane")
    for ref, values in changes.items():
        for column, value in values.items():
            rows.loc[rows["ref"] == ref, column] = value
    return rows


HOUSEHOLD_MAPPING = {
    "record_id": "ref",
    "given_name": "first",
    "family_name": "last",
    "date_of_birth": "dob",
    "postcode": "postcode",
    "address": "address",
    "identifiers": ["member"],
}


@pytest.fixture(scope="module")
def background():
    """A few hundred unrelated people to train on, from another generator's data."""
    evaluation = make_set("heavy_typo_dedupe", 250, seed=5)
    frame = evaluation.tables[0]
    return pd.DataFrame(
        {
            "ref": frame["id"],
            "first": frame["voornaam"],
            "last": frame["achternaam"],
            "dob": pd.to_datetime(frame["geboortedatum"], format="%Y%m%d").dt.date,
            "postcode": frame["postcode"],
            "address": frame["adres"],
            "member": None,
        }
    )


def _cluster(result, ref):
    return result.records.set_index("record_id").loc[ref, "cluster_id"]


def test_twins_guard_holds_households_on_evidence_and_can_be_switched_off(background):
    table = pd.concat([background, _household()], ignore_index=True)
    guarded = link_tables([table], HOUSEHOLD_MAPPING)
    assert _cluster(guarded, "TW1") != _cluster(guarded, "TW2")
    assert _cluster(guarded, "MUM") != _cluster(guarded, "KID")
    assert _cluster(guarded, "AN1") == _cluster(guarded, "AN2")  # a typo is not a twin
    held = guarded.pairs[guarded.pairs["held"]]
    held_refs = {frozenset(p) for p in zip(held["record_id_l"], held["record_id_r"], strict=True)}
    assert frozenset({"AN1", "AN2"}) not in held_refs
    assert guarded.stats["twins_guard"] is True
    assert guarded.stats["guard_held_pairs"] == int((held["match_probability"] >= 0.9).sum())
    review = guarded.review
    assert len(review[review["record_id_l"].isin(["TW1", "TW2", "MUM", "KID"])]) >= 1

    # The same membership number is evidence enough: the guard lets that pair through.
    same_member = _household(TW1={"member": "A123"}, TW2={"member": "A123"})
    released = link_tables([pd.concat([background, same_member])], HOUSEHOLD_MAPPING)
    assert _cluster(released, "TW1") == _cluster(released, "TW2")

    # Settings from the mapping: a looser cut on given names lets the twins through.
    loose = link_tables(
        [table], {**HOUSEHOLD_MAPPING, "twins_guard": {"given_name_similarity": 0.1}}
    )
    assert _cluster(loose, "MUM") != _cluster(loose, "KID")  # still born a generation apart
    loose_held = loose.pairs[loose.pairs["held"]]
    assert not (
        loose_held["record_id_l"].isin(["TW1", "TW2"])
        & loose_held["record_id_r"].isin(["TW1", "TW2"])
    ).any()

    off = link_tables([table], {**HOUSEHOLD_MAPPING, "twins_guard": False})
    assert off.stats["twins_guard"] is False and off.stats["guard_held_pairs"] == 0
    assert not off.pairs["held"].any()


def test_command_line_takes_link_type_and_guard_flags_and_names_a_bad_key(tmp_path):
    evaluation = make_set("continental_link", 150, seed=6)
    inputs = []
    for table in evaluation.tables:
        path = tmp_path / f"{table['dataset'].iloc[0]}.csv"
        table.to_csv(path, index=False)
        inputs += ["--input", str(path)]
    mapping = {**evaluation.mapping}
    mapping.pop("source")
    (tmp_path / "bad.yml").write_text("given_name: Vorname\nlink_type: sideways\n")
    (tmp_path / "mapping.yml").write_text(json.dumps(mapping))  # JSON is YAML too
    command = [sys.executable, "-m", "linkage", "link", *inputs]
    bad = subprocess.run(
        [*command, "--mapping", str(tmp_path / "bad.yml"), "--output", str(tmp_path / "x.csv")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "'link_type'" in bad.stderr, bad.stderr[-2000:]
    completed = subprocess.run(
        [
            *command,
            "--mapping",
            str(tmp_path / "mapping.yml"),
            "--output",
            str(tmp_path / "clusters.csv"),
            "--link-type",
            "link_and_dedupe",
            "--twins-guard",
            "off",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    stats = json.loads(completed.stdout[completed.stdout.index("{") :])
    assert stats["link_type"] == "link_and_dedupe" and stats["twins_guard"] is False
    clusters = pd.read_csv(tmp_path / "clusters.csv", dtype=str)
    truth = evaluation.truth
    assert score(clusters, truth)["f1"] >= 0.9
