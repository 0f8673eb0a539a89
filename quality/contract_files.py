"""The contract files under quality/contracts/ and what each one gates.

Layout (the path mirrors the dataset, so a contract is found without a registry):
    raw/<body>/<entity>.yml   dataset raw_<body>.<entity>,   asset ["raw_<body>", "<entity>"]
    staging/<model>.yml       dataset staging.<model>,       asset ["<model>"]
    core/<model>.yml          dataset core.<model>,          asset ["<model>"]
    marts/<model>.yml         dataset marts_build.<model>,   asset ["<model>"] (before publishing)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from jigsaw import schemas
from jigsaw.paths import contracts_dir, state_dir
from jigsaw.yamlfile import read_yaml

LAYER_SCHEMAS = {"staging": schemas.STAGING, "core": schemas.CORE, "marts": schemas.MARTS_BUILD}
# A failure in these layers must stop what is built on them; staging problems show up again,
# more precisely, in the core contracts and dbt tests, so they only warn by default.
BLOCKING_LAYERS = {"raw", "core", "marts"}
DATASET = re.compile(r"^jigsaw/\$\{var\.database\}/(?P<schema>[a-z0-9_]+)/(?P<table>[a-z0-9_]+)$")


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class ContractFile:
    path: Path
    layer: str
    schema: str
    table: str
    blocking: bool
    severity: str  # "error" or "warn": how a failure shows in Dagster

    @property
    def dataset(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def asset_key_path(self) -> list[str]:
        if self.layer == "raw":
            return [self.schema, self.table]
        return [self.table]

    @property
    def check_name(self) -> str:
        return f"soda_{self.layer}_contract"


def _expected_dataset(path: Path, root: Path) -> tuple[str, str, str]:
    relative = path.relative_to(root)
    parts = relative.parts
    if parts[0] == "raw" and len(parts) == 3:
        return "raw", schemas.raw_schema(parts[1]), path.stem
    if parts[0] in LAYER_SCHEMAS and len(parts) == 2:
        return parts[0], LAYER_SCHEMAS[parts[0]], path.stem
    raise ContractError(
        f"{path}: contracts live at raw/<body>/<entity>.yml or <staging|core|marts>/<model>.yml"
    )


def read_contract(path: Path, root: Path | None = None) -> ContractFile:
    root = root or contracts_dir()
    layer, schema, table = _expected_dataset(path, root)
    try:
        document = read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{path}: cannot read Soda contract: {exc}") from exc
    if not isinstance(document, dict):
        raise ContractError(f"{path}: a Soda contract must be a YAML mapping")
    match = DATASET.match(str(document.get("dataset", "")))
    if not match:
        raise ContractError(
            f"{path}: `dataset` must be jigsaw/${{var.database}}/{schema}/{table}, "
            f"got {document.get('dataset')!r}"
        )
    if (match["schema"], match["table"]) != (schema, table):
        raise ContractError(
            f"{path}: dataset {match['schema']}.{match['table']} does not match its path "
            f"(expected {schema}.{table})"
        )
    if "database" not in (document.get("variables") or {}):
        raise ContractError(f"{path}: declare `variables: {{database: {{type: string}}}}`")
    if not isinstance(document.get("columns"), list) or not document["columns"]:
        raise ContractError(f"{path}: a contract needs a non-empty `columns` list")
    attributes = document.get("check_attributes") or {}
    blocking = attributes.get("blocking", layer in BLOCKING_LAYERS)
    if not isinstance(blocking, bool):
        raise ContractError(f"{path}: check_attributes.blocking must be true or false")
    severity = attributes.get("severity", "error" if blocking else "warn")
    if severity not in ("error", "warn"):
        raise ContractError(f"{path}: check_attributes.severity must be error or warn")
    return ContractFile(
        path=path, layer=layer, schema=schema, table=table, blocking=blocking, severity=severity
    )


def load_contracts(root: Path | None = None, validate: bool = False) -> list[ContractFile]:
    """Every contract under the contracts folder, sorted by path; fails on the first bad one.

    ``validate`` also has Soda parse every check (about a second for all of them), so a typo in
    a check fails when the definitions load rather than when the check first runs.
    """
    root = root or contracts_dir()
    contracts = [read_contract(p, root) for p in sorted(root.glob("**/*.yml"))]
    if validate:
        _validate_once(contracts)
    return contracts


def _validate_once(contracts: list[ContractFile]) -> None:
    """Soda's validation of these exact contract texts, remembered once it has passed.

    Validation takes seconds and the definitions are loaded by every run process, sensor tick
    and UI reload; the contracts change only when someone edits them. A marker named by the
    digest of Soda's version and every contract's path and bytes records a clean validation,
    so any edit, or another Soda, validates again.
    """
    from quality.soda_runner import validate_contracts

    digest = hashlib.sha256(importlib.metadata.version("soda-core").encode())
    for contract in contracts:
        digest.update(str(contract.path).encode() + b"\0" + contract.path.read_bytes() + b"\0")
    marker = state_dir() / "cache" / "soda_contracts_valid" / digest.hexdigest()
    if marker.exists():
        return
    problems = validate_contracts([c.path for c in contracts])
    if problems:
        path, errors = next(iter(problems.items()))
        raise ContractError(f"{path}: invalid Soda contract: {'; '.join(errors)}")
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # a read-only state folder only costs the next process a validation
