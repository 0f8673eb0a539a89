"""The reusable linker on a seeded noisy region: accuracy, hard cases and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pandas as pd
import pytest

from jigsaw.paths import REPO_ROOT
from linkage import link_tables
from linkage.evaluation import score
from linkage.linker import link_records
from linkage.records import collapse
from tests.linkage.synthetic import generate

NHS_A, NHS_B, NHS_C = "9434765919", "4010232137", "4857773457"  # valid modulus-11 numbers


def _person(body, ref, given, family, dob, nhs=None, postcode="ZZ9 9ZZ", address="1 TWIN LANE"):
    return dict(
        body=body,
        person_ref=ref,
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        sex="F",
        postcode=postcode,
        address=address,
        nhs_number=nhs,
        uprn=None,
    )


PLANTED = [
    # Twins: same family name, date of birth and address, no NHS number; two bodies each.
    _person("schools", "TW-A", "Hannah", "Quinlan", date(2015, 3, 3)),
    _person("police", "TW-A2", "HANNAH", "QUINLAN", date(2015, 3, 3)),
    _person("schools", "TW-B", "Rosalind", "Quinlan", date(2015, 3, 3)),
    _person("police", "TW-B2", "ROSALIND", "QUINLAN", date(2015, 3, 3)),
    # One woman, new family name and address after marriage: only her NHS number agrees.
    _person("acute_trust", "NHS-1", "Eleanor", "Whitfield", date(1980, 6, 1), NHS_A),
    _person(
        "adult_social_care",
        "NHS-2",
        "Eleanor",
        "Ashworth",
        date(1980, 6, 1),
        f"{NHS_A[:3]} {NHS_A[3:6]} {NHS_A[6:]}",
        postcode="YY1 1YY",
        address="9 Far Road",
    ),
    # Different valid NHS numbers: never one person, however alike otherwise.
    _person("acute_trust", "NHS-3", "Grace", "Lowther", date(1990, 1, 1), NHS_B),
    _person("adult_social_care", "NHS-4", "Grace", "Lowther", date(1990, 1, 1), NHS_C),
]


@pytest.fixture(scope="module")
def region():
    return generate(1500, seed=11)


@pytest.fixture(scope="module")
def linked(region):
    rows = pd.concat([region.records, pd.DataFrame(PLANTED)], ignore_index=True)
    rows = rows.rename(columns={"body": "source", "person_ref": "record_id"})
    return link_records(collapse(rows))


def cluster_of(linked, source, record_id):
    records = linked.records
    hit = records[(records["source"] == source) & (records["record_id"] == record_id)]
    assert len(hit) == 1, (source, record_id)
    return hit["cluster_id"].iloc[0]


def test_accuracy_on_a_seeded_noisy_region(linked, region):
    truth = region.truth.rename(columns={"body": "source", "person_ref": "record_id"})
    report = score(linked.clusters(), truth)
    assert report["true_pairs"] > 500  # the region really has cross-body links to find
    assert report["precision"] >= 0.97, report
    assert report["recall"] >= 0.95, report
    assert report["f1"] >= 0.97, report


def test_twins_are_not_merged(linked):
    a = cluster_of(linked, "schools", "TW-A")
    b = cluster_of(linked, "schools", "TW-B")
    assert a == cluster_of(linked, "police", "TW-A2")
    assert b == cluster_of(linked, "police", "TW-B2")
    assert a != b


def test_same_valid_nhs_number_links_deterministically(linked):
    assert cluster_of(linked, "acute_trust", "NHS-1") == cluster_of(
        linked, "adult_social_care", "NHS-2"
    )
    record = linked.records[linked.records["record_id"] == "NHS-1"].iloc[0]
    assert record["method"] == "nhs_number"


def test_different_valid_nhs_numbers_are_never_one_person(linked):
    assert cluster_of(linked, "acute_trust", "NHS-3") != cluster_of(
        linked, "adult_social_care", "NHS-4"
    )


def test_reviewer_decisions_override_the_model(region):
    rows = region.records.rename(columns={"body": "source", "person_ref": "record_id"})
    records = collapse(rows)
    first = link_records(records)
    accepted = first.pairs[first.pairs["accepted"] & (first.pairs["method"] == "probabilistic")]
    pair = accepted.iloc[0]
    left, right = (pair.source_l, pair.record_id_l), (pair.source_r, pair.record_id_r)
    second = link_records(records, cannot_link=[(left, right)])
    assert cluster_of(second, *left) != cluster_of(second, *right)


def test_link_tables_takes_a_mapping_and_csv_files_from_the_command_line(region, tmp_path):
    records = region.records
    health = records[records["body"] == "acute_trust"].rename(
        columns={
            "person_ref": "mrn",
            "given_name": "FORENAME",
            "family_name": "SURNAME",
            "date_of_birth": "DOB",
            "nhs_number": "NHS",
        }
    )
    schools = records[records["body"] == "schools"].rename(
        columns={
            "person_ref": "mrn",
            "given_name": "FORENAME",
            "family_name": "SURNAME",
            "date_of_birth": "DOB",
            "nhs_number": "NHS",
        }
    )
    health.to_csv(tmp_path / "health.csv", index=False)
    schools.to_csv(tmp_path / "schools.csv", index=False)
    mapping = {
        "record_id": "mrn",
        "given_name": "FORENAME",
        "family_name": "SURNAME",
        "date_of_birth": "DOB",
        "sex": "sex",
        "postcode": "postcode",
        "address": "address",
        "nhs_number": "NHS",
        # Each body holds some duplicate records of its own: deduplicate them too.
        "link_type": "link_and_dedupe",
    }
    (tmp_path / "mapping.yml").write_text("\n".join(f"{k}: {v}" for k, v in mapping.items()))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "linkage",
            "link",
            "--input",
            str(tmp_path / "health.csv"),
            "--input",
            str(tmp_path / "schools.csv"),
            "--mapping",
            str(tmp_path / "mapping.yml"),
            "--output",
            str(tmp_path / "clusters.csv"),
            "--pairs",
            str(tmp_path / "pairs.csv"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    stats = json.loads(completed.stdout[completed.stdout.index("{") :])
    clusters = pd.read_csv(tmp_path / "clusters.csv", dtype=str)
    assert set(clusters["source"]) == {"health", "schools"}
    assert stats["records"] == len(clusters) == health["mrn"].nunique() + schools["mrn"].nunique()
    truth = region.truth.rename(columns={"body": "source", "person_ref": "record_id"})
    truth["source"] = truth["source"].map({"acute_trust": "health", "schools": "schools"})
    report = score(clusters, truth.dropna())
    assert report["true_pairs"] > 50 and report["f1"] >= 0.95, report

    # The same through Python with DataFrames gives the same clusters.
    result = link_tables([health, schools], mapping)
    assert result.stats["records"] == stats["records"]
    assert result.records["cluster_id"].nunique() == clusters["cluster_id"].nunique()
