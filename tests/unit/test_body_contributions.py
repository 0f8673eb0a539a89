"""The contribution registry and the sharing agreements say the same thing.

A body's permitted purposes are owned by its source spec. dbt must know them while it parses
(to choose which bodies a purpose-limited union reads), so `python -m quality.derived_files`
generates two copies in dbt from the spec: the agreement macro (macros/agreements/<body>.sql)
and the source meta in `_<body>__sources.yml`. These tests show what dbt reads is the spec's,
that the compile-time check stops a build whose copies disagree, and that the registry reaches
exactly the bodies the unions read, through the dbt lineage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ingestion.spec import load_specs
from jigsaw.database import connection_env
from jigsaw.paths import dbt_project_dir
from orchestration.factories.dbt_assets import (
    dbt_executable,
    ensure_manifest,
    jigsaw_dbt_project,
)
from quality.dbt_vars import dbt_vars_arguments

SPECS = {spec.body: spec for spec in load_specs()}


def dbt(project: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            dbt_executable(),
            *args,
            *dbt_vars_arguments(),
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
        ],  # fmt: skip
        cwd=project,
        env={**os.environ, **connection_env(database_url), "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory, database_url: str) -> dict[str, dict]:
    target = str(tmp_path_factory.mktemp("target"))
    completed = dbt(
        dbt_project_dir(), database_url, "run-operation", "print_body_contributions",
        "--target-path", target, "--quiet",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def contributions(registry) -> dict[str, dict]:
    """Each contributing body's contribution, with the purposes its agreement permits."""
    agreements = registry["agreements"]
    return {
        body: {**contribution, "permitted_purposes": agreements.get(body, {}).get(
            "permitted_purposes", [])}
        for body, contribution in registry["contributions"].items()
    }  # fmt: skip


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(ensure_manifest(jigsaw_dbt_project()).read_text())


def test_every_contributing_body_has_a_spec(registry):
    assert registry["contributions"], "no contributions__<body> macro found"
    for body, contribution in registry["contributions"].items():
        assert body in SPECS, f"contributions__{body} names no body with a source spec"
        assert "permitted_purposes" not in contribution, f"{body}: purposes are the spec's"


def test_dbt_reads_each_specs_agreement(registry):
    assert registry["agreements"] == {
        body: {
            "reference": spec.sharing_agreement.reference,
            "permitted_purposes": list(spec.sharing_agreement.permitted_purposes),
        }
        for body, spec in SPECS.items()
    }


def test_source_meta_purposes_match_the_specs(manifest):
    checked = set()
    for source in manifest["sources"].values():
        body = source["source_name"].removeprefix("raw_")
        if body not in SPECS:
            continue
        meta = source.get("source_meta") or source.get("meta") or {}
        assert sorted(meta.get("permitted_purposes") or []) == sorted(
            SPECS[body].sharing_agreement.permitted_purposes
        ), source["unique_id"]
        checked.add(body)
    assert checked == set(SPECS)


def _bodies_read_by(manifest: dict, model: str) -> set[str]:
    """Bodies whose staging models a model reaches, through ephemeral models too."""
    nodes = manifest["nodes"]
    seen, stack, bodies = set(), [f"model.jigsaw.{model}"], set()
    while stack:
        node = nodes[stack.pop()]
        for parent in node["depends_on"]["nodes"]:
            if parent in seen or not parent.startswith("model."):
                continue
            seen.add(parent)
            name = parent.split(".")[-1]
            if name.startswith("stg_") and not name.startswith("stg_linkage__"):
                bodies.add(name.removeprefix("stg_").split("__")[0])
            else:
                stack.append(parent)
    return bodies


@pytest.mark.parametrize(
    ("model", "kind", "purpose"),
    [
        ("int_person_records_keyed", "person_records", "early_intervention"),
        (
            "int_person_records_keyed_for_financial_inclusion",
            "person_records",
            "financial_inclusion",
        ),
        ("fct_service_contact", "service_contacts", "early_intervention"),
    ],
)
def test_unions_read_exactly_the_permitted_contributors(
    manifest, contributions, model, kind, purpose
):
    expected = {
        body
        for body, contribution in contributions.items()
        if contribution.get(kind) and purpose in contribution["permitted_purposes"]
    }
    assert expected, f"no body contributes {kind} for {purpose}"
    assert _bodies_read_by(manifest, model) == expected


def test_an_agreement_claiming_a_purpose_the_source_meta_lacks_fails_compilation(
    tmp_path, database_url: str
):
    """The compile-time purpose check (macro assert_bodies_permit) reads the source meta, so an
    agreement macro edited by hand (or left stale) to claim more stops the build."""
    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    police = project / "macros" / "agreements" / "police.sql"
    claimed = police.read_text().replace(
        '"permitted_purposes": ["safeguarding", "early_intervention"]',
        '"permitted_purposes": ["safeguarding", "early_intervention", "financial_inclusion"]',
    )
    assert claimed != police.read_text()
    police.write_text(claimed)
    completed = dbt(
        project, database_url, "compile", "--select",
        "int_person_records_keyed_for_financial_inclusion",
    )  # fmt: skip
    assert completed.returncode != 0
    assert "raw_police does not permit purpose 'financial_inclusion'" in completed.stdout
