"""The files that repeat a source spec are written from it (quality/derived_files.py): the
committed ones agree, a disagreement is named with its difference, and checks added by hand
survive a rewrite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ingestion.spec import load_specs
from jigsaw.paths import contracts_dir, dbt_project_dir
from quality.derived_files import STAGING_LINEAGE, derived_files, differences, main, write


@pytest.fixture
def copies(tmp_path) -> tuple[Path, Path]:
    dbt = tmp_path / "dbt_project"
    shutil.copytree(dbt_project_dir(), dbt, ignore=shutil.ignore_patterns("target", "logs"))
    contracts = tmp_path / "contracts"
    shutil.copytree(contracts_dir(), contracts)
    return dbt, contracts


def test_the_committed_files_agree_with_the_specs(capsys):
    assert main(["--check"]) == 0, capsys.readouterr().err[-3000:]


def test_a_committed_file_that_disagrees_is_named_with_its_difference(copies):
    dbt, contracts = copies
    contract = contracts / "raw" / "police" / "incidents.yml"
    contract.write_text(
        contract.read_text().replace("data_type: timestamp without time zone", "data_type: text")
    )
    sources = dbt / "models" / "staging" / "police" / "_police__sources.yml"
    sources.write_text(sources.read_text().replace("- early_intervention\n", ""))
    (contracts / "staging" / "stg_police__incidents.yml").unlink()

    found = differences(derived_files(dbt_dir=dbt, contracts=contracts))

    assert len(found) == 3, found
    contract_diff = next(d for d in found if "raw/police/incidents.yml (committed)" in d)
    assert "-    data_type: text\n+    data_type: timestamp without time zone" in contract_diff
    sources_diff = next(d for d in found if "_police__sources.yml (committed)" in d)
    assert "+    - early_intervention" in sources_diff
    assert any(
        d.endswith("stg_police__incidents.yml: missing (the spec implies it)") for d in found
    )


def test_a_spec_change_reaches_the_raw_contract(copies):
    dbt, contracts = copies
    [police] = [s for s in load_specs() if s.body == "police"]
    incidents = police.entities_by_name["incidents"]
    widened = incidents.model_copy(update={"row_count_tolerance": 0.75})
    spec = police.model_copy(update={"entities": [widened]})

    files = derived_files([spec], dbt_dir=dbt, contracts=contracts)
    contract = next(f for f in files if f.path == contracts / "raw" / "police" / "incidents.yml")

    checks = yaml.safe_load(contract.text)["checks"]
    metric = next(c["metric"] for c in checks if "metric" in c)
    assert metric["threshold"] == {"must_be_less_than_or_equal": 0.75}
    assert "within 75% of the previous delivery's" in metric["name"]


def test_checks_added_by_hand_survive_a_rewrite(copies):
    dbt, contracts = copies
    contract = contracts / "raw" / "police" / "incidents.yml"
    document = yaml.safe_load(contract.read_text())
    table_check = {"freshness": {"column": "_loaded_at", "threshold": {"must_be_less_than": 48}}}
    column_check = {"invalid": {"valid_min": 0, "valid_max": 120}}
    document["checks"].append(table_check)
    victim = next(c for c in document["columns"] if c["name"] == "_source_row_number")
    victim["checks"] = [column_check]
    contract.write_text(yaml.safe_dump(document, sort_keys=False))

    written = write(derived_files(dbt_dir=dbt, contracts=contracts))

    assert contract in written  # rewritten in the generator's layout...
    rewritten = yaml.safe_load(contract.read_text())
    assert table_check in rewritten["checks"]  # ...with the hand-written checks kept
    kept = next(c for c in rewritten["columns"] if c["name"] == "_source_row_number")
    assert kept["checks"] == [column_check]
    assert differences(derived_files(dbt_dir=dbt, contracts=contracts)) == []


def test_a_staging_model_gets_the_lineage_columns_and_keeps_its_own(copies):
    dbt, contracts = copies
    models_file = dbt / "models" / "staging" / "police" / "_police__models.yml"
    document = yaml.safe_load(models_file.read_text())
    [model] = document["models"]
    own = [c for c in model["columns"] if c["name"] not in STAGING_LINEAGE]
    tested = {"name": "loaded_at", "description": "mine", "data_tests": ["not_null"]}
    model["columns"] = [*own, tested]  # lineage dropped, one moved with a test of its own
    models_file.write_text(yaml.safe_dump(document, sort_keys=False))

    write(derived_files(dbt_dir=dbt, contracts=contracts))

    [model] = yaml.safe_load(models_file.read_text())["models"]
    assert [c["name"] for c in model["columns"]] == [*STAGING_LINEAGE, *(c["name"] for c in own)]
    loaded_at = next(c for c in model["columns"] if c["name"] == "loaded_at")
    assert loaded_at == {
        "name": "loaded_at", "description": STAGING_LINEAGE["loaded_at"],
        "data_tests": ["not_null"],
    }  # fmt: skip
    contract = yaml.safe_load((contracts / "staging" / "stg_police__incidents.yml").read_text())
    assert [c["name"] for c in contract["columns"]] == [c["name"] for c in model["columns"]]
