"""Adding a public body is data, not code: a spec, a staging model and a contract.

A fire service's home safety visits are added in copies of the specs, the dbt project and the
contracts; a fresh interpreter loads the real definitions from those copies, and the new body
has its ingestion asset, its sensor, its raw Soda gate and a dbt staging asset downstream of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from jigsaw.paths import REPO_ROOT, contracts_dir, dbt_project_dir, specs_dir

SPEC = """\
body: fire_service
title: Fire and rescue service, home fire safety visits
owner: Fire and Rescue Service, Prevention Team
sharing_agreement:
  reference: ISA-FRS-2026-01
  permitted_purposes: [safeguarding, early_intervention]
  retention_months: 36
  lawful_basis: "UK GDPR 6(1)(e) public task; Fire and Rescue Services Act 2004 s6"
entities:
  - name: home_safety_visits
    description: Home fire safety visits, one row per visit.
    format: csv
    file_pattern: "home_safety_visits_{period}.csv"
    primary_key: [visit_id]
    columns:
      - {name: visit_id, type: text, nullable: false, description: Visit reference.}
      - {name: occupier_id, type: text, nullable: false, privacy: token, linkage: person_ref,
         description: The service's occupier identifier.}
      - {name: occupier_name, type: text, privacy: drop, linkage: family_name,
         description: Occupier's surname.}
      - {name: uprn, type: text, linkage: uprn, description: UPRN of the home visited.}
      - {name: visit_date, type: date, format: "%d/%m/%Y", nullable: false,
         description: Date of the visit.}
      - {name: risk_level, type: text, allowed_values: [low, medium, high],
         description: Fire risk assessed at the visit.}
"""

SOURCES = """\
version: 2
sources:
  - name: raw_fire_service
    description: Fire service extracts as loaded into raw.
    schema: raw_fire_service
    meta: {body: fire_service, permitted_purposes: [safeguarding, early_intervention]}
    tables:
      - name: home_safety_visits
        description: Home fire safety visits.
"""

MODELS = """\
version: 2
models:
  - name: stg_fire_service__home_safety_visits
    description: Home fire safety visits, typed and standardised.
    columns:
      - {name: visit_id, description: Visit reference.}
      - {name: person_ref_token, description: Token of the occupier identifier.}
      - {name: uprn, description: UPRN of the home visited.}
      - {name: visit_date, description: Date of the visit.}
      - {name: risk_level, description: Fire risk assessed at the visit.}
"""

STAGING_SQL = """\
with

source as (
    select * from {{ source('raw_fire_service', 'home_safety_visits') }}
),

renamed as (
    select
        visit_id,
        occupier_id_token as person_ref_token,
        uprn,
        visit_date,
        risk_level
    from source
)

select * from renamed
"""

CONTRACT = """\
dataset: jigsaw/${var.database}/raw_fire_service/home_safety_visits
variables:
  database:
    type: string
checks:
  - row_count:
columns:
  - name: visit_id
    checks:
      - missing:
"""

PROBE = """\
import json
from orchestration.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    "assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
    "parents": {
        k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
        for k in graph.get_all_asset_keys()
    },
    "checks": sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys),
    "sensors": sorted(s.name for s in defs.sensors or []),
}))
"""


def _copy_project(tmp_path: Path) -> dict[str, str]:
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir(), specs)
    (specs / "fire_service").mkdir()
    (specs / "fire_service" / "fire_service.yml").write_text(SPEC)

    dbt = tmp_path / "dbt_project"
    shutil.copytree(
        dbt_project_dir(), dbt, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    staging = dbt / "models" / "staging" / "fire_service"
    staging.mkdir()
    (staging / "_fire_service__sources.yml").write_text(SOURCES)
    (staging / "_fire_service__models.yml").write_text(MODELS)
    (staging / "stg_fire_service__home_safety_visits.sql").write_text(STAGING_SQL)

    contracts = tmp_path / "contracts"
    shutil.copytree(contracts_dir(), contracts)
    (contracts / "raw" / "fire_service").mkdir()
    (contracts / "raw" / "fire_service" / "home_safety_visits.yml").write_text(CONTRACT)
    return {
        "JIGSAW_SPECS_DIR": str(specs),
        "JIGSAW_DBT_PROJECT_DIR": str(dbt),
        "JIGSAW_CONTRACTS_DIR": str(contracts),
    }


def test_a_new_body_needs_no_python(tmp_path):
    env = {**os.environ, **_copy_project(tmp_path), "DO_NOT_TRACK": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    graph = json.loads(completed.stdout.strip().splitlines()[-1])

    assert "raw_fire_service/home_safety_visits" in graph["assets"]
    assert "fire_service__deliveries_sensor" in graph["sensors"]
    assert "raw_fire_service/home_safety_visits:soda_raw_contract" in graph["checks"]
    assert graph["parents"]["stg_fire_service__home_safety_visits"] == [
        "raw_fire_service/home_safety_visits"
    ]
    # The real bodies are all still there.
    assert "raw_police/incidents" in graph["assets"]
