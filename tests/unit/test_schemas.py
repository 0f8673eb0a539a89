"""Schema names have one owner, ``jigsaw/schemas.py``: dbt's folder and source schemas, the Soda
contracts' datasets and the Python code agree with it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from ingestion.spec import load_specs
from jigsaw import schemas
from jigsaw.paths import REPO_ROOT, dbt_project_dir
from orchestration.factories.dbt_assets import ensure_manifest, jigsaw_dbt_project
from quality.contract_files import load_contracts
from quality.dbt_vars import dbt_vars

PRODUCT_PACKAGES = ["jigsaw", "ingestion", "linkage", "quality", "analytics", "orchestration"]
# Names that mean only a schema: outside the owner no Python string may spell them. (The
# others, such as "linkage", "core" or "marts", are also package, layer or group names.)
SCHEMA_ONLY_NAMES = {
    schemas.MARTS_BUILD,
    schemas.PRACTITIONER,
    schemas.IDENTITY,
    schemas.raw_schema("reference"),
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(ensure_manifest(jigsaw_dbt_project()).read_text())


def _folder_configs() -> dict:
    project = yaml.safe_load((dbt_project_dir() / "dbt_project.yml").read_text())
    return project["models"][project["name"]]


def test_dbt_project_gives_each_folder_the_owners_schema():
    """Each folder's ``+schema`` is a var the Python passes from the owner; dbt spells none."""
    configs = _folder_configs()
    declared = {folder: c["+schema"] for folder, c in configs.items() if "+schema" in c}
    variable = re.compile(r"^\{\{ var\('(?P<name>schema_[a-z_]+)'\) \}\}$")
    assert set(declared) == set(schemas.DBT_FOLDER_SCHEMAS)
    for folder, value in declared.items():
        found = variable.match(value)
        assert found, f"models.{folder}.+schema: {value!r} is not a var from jigsaw/schemas.py"
        assert dbt_vars()[found["name"]] == schemas.DBT_FOLDER_SCHEMAS[folder], folder


def test_no_dbt_yaml_spells_a_schema_the_owner_passes():
    """Hand-written dbt YAML reads schemas as vars; generated sources spell raw_<body> only."""
    spelled = [
        f"{path.relative_to(REPO_ROOT)}: schema: {value}"
        for path in sorted(dbt_project_dir().rglob("*.yml"))
        if "target" not in path.parts
        for value in re.findall(r"^\s*\+?schema:\s*(\S+)\s*$", path.read_text(), re.MULTILINE)
        if value.strip("'\"") in schemas.DBT_VARS.values()
    ]
    assert spelled == []


def test_every_model_lands_in_its_folders_schema(manifest):
    """generate_schema_name keeps the folder's schema verbatim (no target prefix)."""
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 20
    for node in models:
        folder = Path(node["original_file_path"]).parts[1]  # models/<folder>/...
        assert node["schema"] == schemas.DBT_FOLDER_SCHEMAS[folder], node["unique_id"]


def test_every_dbt_source_reads_a_schema_the_owner_names(manifest):
    raw = {schemas.raw_schema(spec.body) for spec in load_specs()}
    derived = {schemas.LINKAGE, schemas.QUALITY, schemas.IDENTITY}
    sources = list(manifest["sources"].values())
    assert {s["schema"] for s in sources} >= raw | {schemas.LINKAGE}
    for source in sources:
        assert source["schema"] in raw | derived, source["unique_id"]


def test_every_soda_contract_gates_a_dataset_in_an_owned_schema():
    raw = {schemas.raw_schema(spec.body) for spec in load_specs()}
    built = set(schemas.DBT_FOLDER_SCHEMAS.values())
    contracts = load_contracts()
    assert {c.layer for c in contracts} >= {"raw", "staging", "core", "marts"}
    for contract in contracts:
        expected = raw if contract.layer == "raw" else built
        assert contract.schema in expected, contract.path
    assert any(c.schema == schemas.MARTS_BUILD for c in contracts)


def _string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


def test_no_python_module_spells_a_schema_name_but_the_owner():
    owner = REPO_ROOT / "jigsaw" / "schemas.py"
    spelled = [
        f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.value!r}"
        for package in PRODUCT_PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path != owner
        for node in _string_constants(path)
        if node.value in SCHEMA_ONLY_NAMES
    ]
    assert spelled == [], "import the name from jigsaw/schemas.py instead:\n" + "\n".join(spelled)


def test_the_scan_finds_a_spelled_name(tmp_path):
    """The scan above is not vacuous: it does find a literal schema name."""
    module = tmp_path / "example.py"
    module.write_text(f'TABLE = "{schemas.MARTS_BUILD}.some_mart"\nSCHEMA = "{schemas.IDENTITY}"\n')
    found = [n.value for n in _string_constants(module) if n.value in SCHEMA_ONLY_NAMES]
    assert found == [schemas.IDENTITY]
