"""Quality gates and publishing, built from the dbt manifest, the specs and the contracts.

See orchestration/factories/quality_gates.py for what each gate is.
"""

from ingestion.spec import load_specs
from orchestration.factories.dbt_assets import ensure_manifest, jigsaw_dbt_project
from orchestration.factories.quality_gates import build_quality_defs
from quality.contract_files import load_contracts
from quality.manifest import load_manifest


def current_manifest() -> dict | None:
    """The dbt manifest, re-parsed by the dbt module's helper when the project changed, so a
    new mart gets its gates and its publishing asset without another step."""
    return load_manifest(ensure_manifest(jigsaw_dbt_project()))


defs = build_quality_defs(current_manifest(), load_specs(), load_contracts(validate=True))
