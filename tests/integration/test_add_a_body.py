"""Adding a public body is data, not code: a spec, a staging model, its contributions and a
contract.

A fire service's home safety visits are added in copies of the specs, the dbt project and the
contracts (files of its own only); a fresh interpreter loads the real definitions from those
copies, and the new body has its ingestion asset, its sensor, its raw Soda gate and a dbt
staging asset downstream of it. Built with real dbt on the small handcrafted region, its
visits reach core.fct_service_contact and the early-intervention mart its agreement permits,
and no model serving a purpose it does not permit (financial inclusion).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from jigsaw.database import connection_env
from jigsaw.paths import REPO_ROOT, contracts_dir, dbt_project_dir, specs_dir
from orchestration.factories.dbt_assets import dbt_executable
from quality.disclosure import dbt_vars_arguments
from tests.dbt.region import PERSON_KEYS

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
        identifier: home_safety_visits__lineage
        description: Home fire safety visits.
"""

MODELS = """\
version: 2
models:
  - name: stg_fire_service__home_safety_visits
    description: Home fire safety visits, typed and standardised.
    columns:
      - {name: delivery_id, description: Delivery the row came from.}
      - {name: source_row_number, description: Row number in the delivered file.}
      - {name: source_period, description: Extract period of the delivery.}
      - {name: period_start, description: First day of the extract period.}
      - {name: loaded_at, description: When the row was loaded.}
      - {name: body, description: The body, fire_service.}
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
        {{ staging_lineage_columns() }},
        'fire_service'::text as body,
        visit_id,
        occupier_id_token as person_ref_token,
        uprn,
        visit_date,
        risk_level
    from source
)

select * from renamed
"""

CONTRIBUTIONS = """\
{% macro contributions__fire_service() -%}
    {{ return({
        'permitted_purposes': ['safeguarding', 'early_intervention'],
        'person_records': [{
            'entity': 'home_safety_visits', 'model': 'stg_fire_service__home_safety_visits',
            'record_id': 'visit_id', 'birth_year': 'null::integer', 'sex_code': 'null::text',
            'nhs_number_token': 'null::text', 'record_date': 'visit_date',
            'given_uprn': 'uprn'}],
        'service_contacts': [{
            'entity': 'home_safety_visits', 'model': 'stg_fire_service__home_safety_visits',
            'record_id': 'visit_id', 'person_ref_token': 'person_ref_token',
            'contact_type': "'home_fire_safety_visit'", 'contact_date': 'visit_date',
            'severity': "case when risk_level = 'high' then 'medium' else 'low' end",
            'given_uprn': 'uprn'}],
    }) }}
{%- endmacro %}
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
    (dbt / "macros" / "contributions" / "fire_service.sql").write_text(CONTRIBUTIONS)

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


BUILD = """
import os
import sys
from datetime import date

import psycopg

from tests.dbt.region import HOME_AB, PERSON_KEYS, Loader, load_small_region, token

with psycopg.connect(os.environ["PROBE_DATABASE_URL"]) as conn:
    load_small_region(conn)  # every raw table of the specs in use, the new body's included
    Loader(conn).insert(
        "fire_service", "home_safety_visits", "2026-03",
        visit_id="V-1", occupier_id_token=token("fire_service", "A"), uprn=HOME_AB,
        visit_date=date(2026, 3, 10), risk_level="high",
    )
    conn.execute(
        "insert into linkage.person_xref (body, person_ref_token, person_key, method,"
        " match_probability, run_id) values (%s, %s, %s, 'nhs_number', 1.0, 0)",
        ("fire_service", token("fire_service", "A"), PERSON_KEYS["A"]),
    )
"""


def test_a_new_body_reaches_core_and_the_marts_it_may(tmp_path, fresh_database_url):
    copies = _copy_project(tmp_path)
    env = {
        **os.environ,
        **copies,
        **connection_env(fresh_database_url),
        "PROBE_DATABASE_URL": fresh_database_url,
        "DO_NOT_TRACK": "1",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", BUILD], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    dbt = Path(copies["JIGSAW_DBT_PROJECT_DIR"])
    built = subprocess.run(
        [
            dbt_executable(),
            "run",
            *dbt_vars_arguments(),
            "--select",
            *MODELS_REACHED,
            "--project-dir",
            str(dbt),
            "--profiles-dir",
            str(dbt),
        ],
        cwd=dbt,
        env=env,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-6000:]

    with psycopg.connect(fresh_database_url) as conn:
        contacts = conn.execute(
            "select person_key, contact_type, severity from core.fct_service_contact"
            " where body = 'fire_service'"
        ).fetchall()
        assert contacts == [(PERSON_KEYS["A"], "home_fire_safety_visit", "medium")]
        bodies = conn.execute(
            "select bodies from marts_build.multi_agency_persons where person_key = %s",
            (PERSON_KEYS["A"],),
        ).fetchone()[0]
        assert "fire_service" in bodies.split(",")
        # Financial inclusion is not in its agreement: neither its rows nor its lineage.
        assert not conn.execute(
            "select 1 from intermediate.int_person_records_keyed_for_financial_inclusion"
            " where body = 'fire_service'"
        ).fetchone()
    manifest = json.loads((dbt / "target" / "manifest.json").read_text())
    assert not [
        node
        for node in _ancestors(manifest, "model.jigsaw.betting_hardship_by_area")
        if "fire_service" in node
    ]
    assert "source.jigsaw.raw_fire_service.home_safety_visits" in _ancestors(
        manifest, "model.jigsaw.multi_agency_persons"
    )


MODELS_REACHED = (
    "+multi_agency_persons",
    "+int_person_records_keyed_for_financial_inclusion",
)


def _ancestors(manifest: dict, unique_id: str) -> set[str]:
    found, stack = set(), [unique_id]
    while stack:
        node = manifest["nodes"].get(stack.pop())
        for parent in (node or {}).get("depends_on", {}).get("nodes", []):
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found
