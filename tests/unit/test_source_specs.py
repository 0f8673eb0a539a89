"""Every shipped source spec validates, and a broken spec fails naming its file and field."""

from pathlib import Path

import pytest

from ingestion.spec import SpecError, load_spec, load_specs


def test_every_shipped_spec_is_valid():
    specs = load_specs()
    bodies = {s.body for s in specs}
    assert {
        "childrens_social_care",
        "adult_social_care",
        "revenues_benefits",
        "housing_provider",
        "home_sensors",
        "police",
        "acute_trust",
        "schools",
        "licensing",
        "reference",
    } <= bodies
    for spec in specs:
        for entity in spec.entities:
            assert entity.columns, f"{spec.body}.{entity.name} has no columns"


def test_direct_identifiers_never_reach_raw_in_clear():
    for spec in load_specs():
        for entity in spec.entities:
            for column in entity.columns:
                if column.linkage in {"given_name", "family_name", "address", "postcode"}:
                    assert column.raw_name is None, f"{spec.body}.{entity.name}.{column.name}"
                if column.linkage in {"nhs_number", "person_ref"}:
                    assert column.raw_name == f"{column.name}_token"


def test_invalid_spec_names_file_and_field(tmp_path: Path):
    folder = tmp_path / "fire_service"
    folder.mkdir()
    path = folder / "fire_service.yml"
    path.write_text(
        "body: fire_service\ntitle: Fire\nowner: Fire\n"
        "sharing_agreement: {reference: X, permitted_purposes: [safeguarding],"
        " retention_months: 12, lawful_basis: x}\n"
        "entities:\n  - name: visits\n    description: d\n    format: csv\n"
        "    file_pattern: 'visits_{period}.csv'\n    primary_key: [visit_id]\n"
        "    columns:\n      - {name: visit_id, type: varchar, description: id}\n"
    )
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert str(path) in message
    assert "entities.0.columns.0.type" in message


def test_a_name_ending_in_a_newline_is_not_snake_case(tmp_path: Path):
    """`$` matches before a final newline; the pattern must not let "incidents\\n" through (a
    quoted table "incidents\\n" would be made)."""
    import yaml

    path = next(p for p in (Path(__file__).parents[2] / "ingestion" / "specs").rglob("police.yml"))
    spec = yaml.safe_load(path.read_text())
    spec["entities"][0]["name"] = "incidents\n"
    broken = tmp_path / "police" / "police.yml"
    broken.parent.mkdir()
    broken.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match="snake_case"):
        load_spec(broken)
    spec["entities"][0]["name"] = "incidents"
    spec["entities"][0]["file_pattern"] = "incidents_{period}.csv"
    broken.write_text(yaml.safe_dump(spec))
    entity = load_spec(broken).entities[0]
    assert entity.file_regex().match("incidents_2026-01.csv")
    assert not entity.file_regex().match("incidents_2026-01.csv\n")
