"""Privacy, disclosure and purpose gates catch what they are for, and pass clean marts."""

from __future__ import annotations

import psycopg
import pytest

from ingestion.identifiers import nhs_check_digit
from ingestion.spec import load_specs
from orchestration.factories.dbt_assets import ensure_manifest, jigsaw_dbt_project
from quality.disclosure import check_disclosure
from quality.manifest import load_manifest, marts
from quality.privacy import check_privacy
from quality.purpose import check_purpose

NHS = "943476591" + str(nhs_check_digit("943476591"))


@pytest.fixture()
def scratch(conn: psycopg.Connection) -> psycopg.Connection:
    conn.execute("drop schema if exists gate_test cascade")
    conn.execute("create schema gate_test")
    yield conn
    conn.rollback()


def test_privacy_passes_a_mart_of_pseudonymous_keys_and_areas(scratch):
    scratch.execute(
        "create table gate_test.clean as select 'pk_' || g as person_key,"
        " 'Ward ' || g as ward_name, 'Hulme 01A' as lsoa_name,"
        " 'M1' as postcode_district, g * 10 as n_people,"
        " date '2026-01-01' + g as period_start, 1234567890 as contact_id"
        " from generate_series(1, 30) g"
    )
    assert check_privacy(scratch, "gate_test", "clean") == []


def test_privacy_catches_identifiers_by_column_name(scratch):
    scratch.execute(
        "create table gate_test.named (person_key text, date_of_birth date, nhs_number text,"
        " postcode text, forename text, address_line_1 text, lsoa_name text)"
    )
    found = {(f.column, f.rule) for f in check_privacy(scratch, "gate_test", "named")}
    assert found == {
        ("date_of_birth", "date of birth"),
        ("nhs_number", "NHS number"),
        ("postcode", "full postcode"),
        ("forename", "person name"),
        ("address_line_1", "address"),
    }


def test_privacy_catches_identifiers_by_content(scratch):
    scratch.execute(
        "create table gate_test.disguised as select 'pk_' || g as person_key,"
        " case when g = 1 then %s else 'x' end as ref,"
        " case when g = 2 then 'M13 9PL' else 'Manchester' end as place,"
        " date '1940-01-01' + g * 400 as seen_on from generate_series(1, 40) g",
        (NHS,),
    )
    findings = check_privacy(scratch, "gate_test", "disguised")
    found = {(f.column, f.rule, f.detected_by) for f in findings}
    assert found == {
        ("ref", "NHS number", "content"),
        ("place", "full postcode", "content"),
        ("seen_on", "date of birth", "content"),
    }
    assert all(NHS not in f.detail and "M13 9PL" not in f.detail for f in findings)


def test_privacy_reads_numbers_and_old_dates_by_content(scratch):
    # The one-scan screen hands on to the follow-up queries: an NHS number stored as a number
    # is found; old dates over few years are not dates of birth, over many years they are.
    scratch.execute(
        "create table gate_test.numbered as select 'pk_' || g as person_key,"
        " case when g = 3 then %s::bigint else g end as ref_no,"
        " date '1950-01-01' + g as opened_on, date '1940-01-01' + g * 400 as seen_on,"
        " g * 1.5 as score from generate_series(1, 40) g",
        (NHS,),
    )
    findings = check_privacy(scratch, "gate_test", "numbered")
    assert {(f.column, f.rule) for f in findings} == {
        ("ref_no", "NHS number"),
        ("seen_on", "date of birth"),
    }
    assert all(NHS not in f.detail for f in findings)


def test_privacy_treats_uprns_as_address_identifiers(scratch):
    scratch.execute(
        "create table gate_test.homes as select 'pk_' || g as property_key,"
        " (100000000 + g * 37)::text as home_ref, lpad(g::text, 5, '0') || 'A' as premises_code,"
        " 'E0100' || g as lsoa_code, (10023456789 + g)::text as uprn"
        " from generate_series(1, 30) g"
    )
    found = {
        (f.column, f.rule, f.detected_by) for f in check_privacy(scratch, "gate_test", "homes")
    }
    assert found == {("uprn", "UPRN", "name"), ("home_ref", "UPRN", "content")}
    # A record-level mart read only for an address purpose may carry them.
    assert check_privacy(scratch, "gate_test", "homes", allowed=frozenset({"UPRN"})) == []


def test_disclosure_catches_small_counts_and_lone_suppressed_cells(scratch):
    scratch.execute(
        "create table gate_test.by_area (lsoa_code text, category text, n_people integer)"
    )
    scratch.execute(
        "insert into gate_test.by_area values ('A', 'x', 25), ('A', 'y', null), ('A', 'z', null),"
        " ('B', 'x', 40), ('B', 'y', 15)"
    )
    assert check_disclosure(scratch, "gate_test", "by_area", groups=["lsoa_code"]) == []
    # A count the p-table did not round was not perturbed.
    scratch.execute("insert into gate_test.by_area values ('E', 'x', 12), ('E', 'y', 0)")
    [unperturbed] = check_disclosure(scratch, "gate_test", "by_area", groups=["lsoa_code"])
    assert (unperturbed.rule, unperturbed.cells) == ("perturbation", 1)
    scratch.execute("delete from gate_test.by_area where lsoa_code = 'E'")

    scratch.execute("insert into gate_test.by_area values ('C', 'x', 3), ('C', 'y', 30)")
    scratch.execute("insert into gate_test.by_area values ('D', 'x', null), ('D', 'y', 50)")
    found = {
        (f.column, f.rule, f.cells)
        for f in check_disclosure(scratch, "gate_test", "by_area", groups=["lsoa_code"])
    }
    assert found == {
        ("n_people", "primary suppression", 1),
        ("n_people", "perturbation", 1),  # the 3 was not rounded by the p-table either
        ("n_people", "secondary suppression", 1),
    }
    examples = {
        f.rule: f.as_dict()["examples"]
        for f in check_disclosure(scratch, "gate_test", "by_area", groups=["lsoa_code"])
    }
    assert examples == {
        "primary suppression": [{"lsoa_code": "C", "n_people": "3"}],
        "perturbation": [],
        "secondary suppression": [{"lsoa_code": "D"}],
    }
    # Without groups, the whole table is one group: here it has more than one suppressed cell.
    assert {f.rule for f in check_disclosure(scratch, "gate_test", "by_area")} == {
        "primary suppression",
        "perturbation",
    }


def test_disclosure_finds_the_suppressed_counts_by_their_flags(scratch):
    scratch.execute(
        "create table gate_test.flagged as select 'A' as lsoa_code, 5 as residents,"
        " false as residents_suppressed, 5 as betting_premises_in_area, 2 as n_people"
    )
    found = {(f.column, f.rule) for f in check_disclosure(scratch, "gate_test", "flagged")}
    # Premises are a public register and n_people has no flag: only residents is a count here.
    assert found == {("residents", "primary suppression")}


def synthetic_manifest() -> dict:
    def model(name, deps, meta=None, folder="core"):
        return {
            "resource_type": "model",
            "name": name,
            "original_file_path": f"models/{folder}/{name}.sql",
            "schema": "marts_build" if folder == "marts" else folder,
            "config": {"meta": meta or {}},
            "depends_on": {"nodes": deps},
        }

    def source(name):
        return {"source_name": name, "name": "t", "resource_type": "source"}

    return {
        "sources": {
            "source.jigsaw.raw_police.incidents": source("raw_police"),
            "source.jigsaw.raw_home_sensors.sensor_readings": source("raw_home_sensors"),
            "source.jigsaw.linkage.person_xref": source("linkage"),
        },
        "nodes": {
            "model.jigsaw.stg_police__incidents": model(
                "stg_police__incidents", ["source.jigsaw.raw_police.incidents"], folder="staging"
            ),
            "model.jigsaw.stg_linkage__person_xrefs": model(
                "stg_linkage__person_xrefs", ["source.jigsaw.linkage.person_xref"], folder="staging"
            ),
            "model.jigsaw.fct_service_contact": model(
                "fct_service_contact",
                ["model.jigsaw.stg_police__incidents", "model.jigsaw.stg_linkage__person_xrefs"],
            ),
            "model.jigsaw.risk": model(
                "risk",
                ["model.jigsaw.fct_service_contact"],
                {"purpose": "early_intervention"},
                "marts",
            ),
            "model.jigsaw.research_study": model(
                "research_study",
                [
                    "model.jigsaw.fct_service_contact",
                    "source.jigsaw.raw_home_sensors.sensor_readings",
                ],
                {"purpose": "research"},
                "marts",
            ),
            "model.jigsaw.undeclared": model(
                "undeclared", ["model.jigsaw.fct_service_contact"], {}, "marts"
            ),
        },
    }


def test_purpose_check_walks_lineage_to_sharing_agreements():
    manifest, specs = synthetic_manifest(), load_specs()
    by_name = {m.name: m for m in marts(manifest)}
    assert set(by_name) == {"risk", "research_study", "undeclared"}

    report = check_purpose(manifest, by_name["risk"], specs)
    assert report.sources == ["linkage", "raw_police"] and report.passed

    report = check_purpose(manifest, by_name["research_study"], specs)
    violations = report.violations
    assert report.sources == ["linkage", "raw_home_sensors", "raw_police"]
    # Police shares for safeguarding and early intervention only; sensors permit research.
    assert [(v.source, v.purpose) for v in violations] == [("raw_police", "research")]
    assert "ISA-POL-2026-03" in violations[0].reason
    assert violations[0].via == (
        "research_study",
        "fct_service_contact",
        "stg_police__incidents",
        "raw_police.t",
    )

    report = check_purpose(manifest, by_name["undeclared"], specs)
    assert [v.reason for v in report.violations] == ["the mart declares no meta.purpose"]


def test_a_reasoned_purpose_exception_is_listed_not_silent():
    manifest = synthetic_manifest()
    meta = manifest["nodes"]["model.jigsaw.research_study"]["config"]["meta"]
    meta["purpose_exceptions"] = {"raw_police": "", "raw_home_sensors": "unused"}
    [study] = [m for m in marts(manifest) if m.name == "research_study"]
    report = check_purpose(manifest, study, load_specs())
    assert [v.source for v in report.violations] == ["raw_police"]  # no reason, no exception

    meta["purpose_exceptions"] = {"raw_police": "only rows of consenting participants"}
    [study] = [m for m in marts(manifest) if m.name == "research_study"]
    report = check_purpose(manifest, study, load_specs())
    assert report.passed
    assert [(e["source"], e["exception"]) for e in report.excepted] == [
        ("raw_police", "only rows of consenting participants")
    ]


def test_every_real_mart_declares_a_permitted_purpose():
    # Parsed here when no earlier test has (tests run in random order).
    manifest = load_manifest(ensure_manifest(jigsaw_dbt_project()))
    assert marts(manifest), "the project has no marts"
    specs = load_specs()
    for mart in marts(manifest):
        report = check_purpose(manifest, mart, specs)
        assert report.sources, f"{mart.name} reads no source"
        assert report.passed, [v.as_dict() for v in report.violations]


def test_the_docs_quote_the_disclosure_policy_from_its_owner():
    from pathlib import Path

    from quality.dbt_vars import dbt_vars
    from quality.disclosure import PTABLE, THRESHOLD

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"threshold {THRESHOLD}" in readme and f"`{PTABLE}`" in readme
    assert f"counts under {THRESHOLD} become 0" in readme
    project = (Path(__file__).parents[2] / "dbt_project" / "dbt_project.yml").read_text()
    assert all(f"{name}:" not in project for name in dbt_vars()), "dbt must not keep a copy"
