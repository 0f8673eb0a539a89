"""Verify Soda v4 data contracts against Jigsaw's PostgreSQL and return plain results.

Contracts name their dataset ``jigsaw/${var.database}/<schema>/<table>``: the database differs
between environments (a test database, the embedded one), so it is passed as a Soda variable.
The data source is described in memory; the password is referred to as an environment variable
whenever the environment holds it, so no secret is written to disk or logged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from numbers import Number
from pathlib import Path

from jigsaw.database import parse_url, resolve_database_url

DATA_SOURCE_NAME = "jigsaw"

os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")


@dataclass(frozen=True)
class SodaCheckOutcome:
    """One check of a contract after verification."""

    name: str
    column: str | None
    type: str
    outcome: str  # PASSED, WARN, FAILED, NOT_EVALUATED, EXCLUDED
    value: float | int | None
    diagnostics: str

    @property
    def failed(self) -> bool:
        return self.outcome in ("FAILED", "NOT_EVALUATED")

    def as_dict(self) -> dict:
        return {
            "check": self.name,
            "column": self.column,
            "type": self.type,
            "outcome": self.outcome,
            "value": self.value,
            "diagnostics": self.diagnostics,
        }


@dataclass(frozen=True)
class ContractResult:
    """The verdict on one contract: passed only if every check passed and Soda raised no error."""

    contract_path: Path
    dataset: str
    checks: list[SodaCheckOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[SodaCheckOutcome]:
        return [c for c in self.checks if c.failed]

    @property
    def warned_checks(self) -> list[SodaCheckOutcome]:
        return [c for c in self.checks if c.outcome == "WARN"]

    @property
    def passed(self) -> bool:
        return not self.errors and not self.failed_checks and bool(self.checks)

    def summary(self) -> str:
        problems = [
            f"{c.name} ({c.column or 'dataset'}): {c.outcome}"
            for c in self.failed_checks + self.warned_checks
        ]
        if self.passed and not problems:
            return f"{self.dataset}: {len(self.checks)} checks passed"
        return f"{self.dataset}: " + "; ".join(problems + self.errors)


def data_source_yaml(database_url: str) -> str:
    parts = parse_url(database_url)
    if not parts.password:
        password = '""'
    elif os.environ.get("JIGSAW_DB_PASSWORD") == parts.password:
        password = "${env.JIGSAW_DB_PASSWORD}"
    else:
        password = json.dumps(parts.password)  # in memory only, never printed
    return "\n".join(
        [
            "type: postgres",
            f"name: {DATA_SOURCE_NAME}",
            "connection:",
            f"  host: {json.dumps(parts.host)}",
            f"  port: {parts.port}",
            f"  user: {json.dumps(parts.user)}",
            f"  password: {password}",
            f"  database: {json.dumps(parts.dbname)}",
        ]
    )


def _outcome(check_result) -> SodaCheckOutcome:
    check = check_result.check
    try:
        diagnostics = check_result.log_table_row_diagnostics(verbose=False)
    except Exception:  # diagnostics are a courtesy; never lose the verdict over them
        diagnostics = json.dumps(check_result.diagnostic_metric_values, default=str)
    value = check_result.threshold_value
    # Postgres numerics come back as Decimal; metadata and JSON want plain numbers.
    value = float(value) if isinstance(value, Number) and not isinstance(value, int) else value
    if value is not None and check.threshold is not None:
        diagnostics = f"value: {value} ({str(check.threshold).splitlines()[-1]})\n{diagnostics}"
    return SodaCheckOutcome(
        name=check.name or check.relative_path,
        column=check.column_name,
        type=check.type,
        outcome=check_result.outcome.name,
        value=value if isinstance(value, int | float) else None,
        diagnostics=diagnostics,
    )


def verify_contracts(
    contract_paths: list[Path], database_url: str | None = None
) -> list[ContractResult]:
    """Verify several contracts in one Soda session (one connection); results in input order."""
    from soda_core.common.yaml import ContractYamlSource, DataSourceYamlSource
    from soda_core.contracts.contract_verification import ContractVerificationSession

    if not contract_paths:
        return []
    url = database_url or resolve_database_url()
    results: list[ContractResult] = []
    # One session per contract would reconnect each time; a session per batch shares it. Soda
    # attributes errors to the session as well, so verify one by one only if a batch errors.
    session = ContractVerificationSession.execute(
        contract_yaml_sources=[ContractYamlSource.from_file_path(str(p)) for p in contract_paths],
        data_source_yaml_sources=[DataSourceYamlSource.from_str(data_source_yaml(url))],
        variables={"database": parse_url(url).dbname},
    )
    verified = session.contract_verification_results
    if len(verified) != len(contract_paths):
        errors = session.get_errors() or ["Soda returned no result for this contract"]
        return [ContractResult(Path(p), "?", [], list(errors)) for p in contract_paths]
    for path, result in zip(contract_paths, verified, strict=True):
        results.append(
            ContractResult(
                contract_path=Path(path),
                dataset=_dataset_name(result),
                checks=[_outcome(r) for r in result.check_results],
                errors=list(result.get_errors()),
            )
        )
    return results


def validate_contracts(contract_paths: list[Path]) -> dict[Path, list[str]]:
    """Soda's own parse of each contract, without touching a database: {path: errors}."""
    from soda_core.common.yaml import ContractYamlSource, DataSourceYamlSource
    from soda_core.contracts.contract_verification import ContractVerificationSession

    if not contract_paths:
        return {}
    # Never connected to: validation parses the contracts only.
    placeholder = "postgresql://jigsaw@localhost:5432/validation"
    session = ContractVerificationSession.execute(
        contract_yaml_sources=[ContractYamlSource.from_file_path(str(p)) for p in contract_paths],
        data_source_yaml_sources=[DataSourceYamlSource.from_str(data_source_yaml(placeholder))],
        variables={"database": "validation"},
        only_validate_without_execute=True,
    )
    results = session.contract_verification_results
    if len(results) != len(contract_paths):
        return {Path(p): list(session.get_errors()) or ["not validated"] for p in contract_paths}
    return {
        Path(p): list(r.get_errors())
        for p, r in zip(contract_paths, results, strict=True)
        if r.get_errors()
    }


def verify_contract(contract_path: Path, database_url: str | None = None) -> ContractResult:
    return verify_contracts([contract_path], database_url)[0]


def _dataset_name(result) -> str:
    contract = getattr(result, "contract", None)
    if contract is None:
        return "?"
    prefix = [p for p in (contract.dataset_prefix or [])[1:]]  # drop the database
    return ".".join([*prefix, contract.dataset_name])
