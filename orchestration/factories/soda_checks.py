"""One Dagster asset check per Soda contract, on the asset the contract covers.

A contract is data (quality/contracts/<layer>/...); this factory turns each into an
``@asset_check``: blocking where its layer (or its ``check_attributes.blocking``) says a failure
must stop what follows, with the failed checks and Soda's diagnostics in the check's metadata,
and every verdict appended to quality.check_results. The database is the ``database`` resource's
(orchestration/resources.py); Soda is given its URL, not left to find one.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations at runtime.

import json
from collections.abc import Iterable

import dagster as dg
import psycopg

from orchestration.resources import PostgresResource
from quality.contract_files import ContractFile
from quality.failing_rows import sample_failing_rows
from quality.history import CheckRecord, record_checks
from quality.soda_runner import ContractResult, verify_contract


def _diagnostics_markdown(result: ContractResult) -> str:
    rows = ["| check | column | outcome | diagnostics |", "|---|---|---|---|"]
    for check in result.checks:
        diagnostics = check.diagnostics.replace("\n", "; ").replace("|", "/")
        rows.append(f"| {check.name} | {check.column or ''} | {check.outcome} | {diagnostics} |")
    rows.extend(f"| Soda error | | ERROR | {e.replace(chr(10), ' ')} |" for e in result.errors)
    return "\n".join(rows)


def record_gate(
    context: dg.AssetCheckExecutionContext,
    *,
    check_name: str,
    dataset: str,
    layer: str,
    passed: bool,
    severity: dg.AssetCheckSeverity,
    diagnostics: dict,
    database_url: str,
) -> None:
    """Append one verdict to the history table; a history failure must not hide the verdict."""
    outcome = (
        "passed" if passed else ("failed" if severity == dg.AssetCheckSeverity.ERROR else "warned")
    )
    try:
        with psycopg.connect(database_url) as conn:
            record_checks(
                conn,
                [
                    CheckRecord(
                        check_name=check_name,
                        dataset=dataset,
                        layer=layer,
                        outcome=outcome,
                        severity=severity.value,
                        run_id=context.run.run_id,
                        diagnostics=diagnostics,
                    )
                ],
            )
    except psycopg.Error as exc:
        context.log.warning(f"could not record {check_name} on {dataset} in check history: {exc}")


def failing_rows(contract: ContractFile, result: ContractResult, database_url: str) -> dict:
    """A few failing rows per failed check; sampling problems must not hide the verdict."""
    samples: dict[str, list] = {}
    try:
        with psycopg.connect(database_url) as conn:
            for check in result.failed_checks:
                rows = sample_failing_rows(
                    conn, contract.path, contract.schema, contract.table, check
                )
                if rows:
                    samples[f"{check.name} ({check.column or 'dataset'})"] = rows
    except psycopg.Error as exc:
        samples["error"] = [{"sampling failed": str(exc)}]
    return json.loads(json.dumps(samples, default=str))


def contract_check_result(
    contract: ContractFile, result: ContractResult, samples: dict | None = None
) -> dg.AssetCheckResult:
    failed = result.failed_checks
    # Checks a contract marks `level: warn` only warn; other failures take the contract's
    # severity (error where the layer blocks, warn in staging unless the contract says otherwise).
    only_warned = not failed and not result.errors and result.warned_checks
    severity = (
        dg.AssetCheckSeverity.WARN
        if only_warned or contract.severity == "warn"
        else dg.AssetCheckSeverity.ERROR
    )
    return dg.AssetCheckResult(
        passed=result.passed and not result.warned_checks,
        severity=severity,
        description=result.summary(),
        metadata={
            "contract": dg.MetadataValue.path(str(contract.path)),
            "dataset": contract.dataset,
            "checks_run": len(result.checks),
            "checks_failed": len(failed),
            "failed_checks": dg.MetadataValue.json([c.as_dict() for c in failed]),
            "soda_errors": dg.MetadataValue.json(result.errors),
            "diagnostics": dg.MetadataValue.md(_diagnostics_markdown(result)),
            "failing_rows": dg.MetadataValue.json(samples or {}),
        },
    )


def build_contract_check(contract: ContractFile) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(contract.asset_key_path),
        name=contract.check_name,
        blocking=contract.blocking,
        description=f"Soda contract {contract.path.name} on {contract.dataset} ({contract.layer}).",
        metadata={"contract": str(contract.path), "layer": contract.layer},
    )
    def _check(
        context: dg.AssetCheckExecutionContext, database: PostgresResource
    ) -> dg.AssetCheckResult:
        url = database.resolved_url()
        result = verify_contract(contract.path, url)
        samples = failing_rows(contract, result, url) if result.failed_checks else {}
        check_result = contract_check_result(contract, result, samples)
        record_gate(
            context,
            check_name=contract.check_name,
            dataset=contract.dataset,
            layer=contract.layer,
            passed=check_result.passed,
            severity=check_result.severity,
            diagnostics={
                "contract": str(contract.path),
                "checks": [c.as_dict() for c in result.checks],
                "errors": result.errors,
                "failing_rows": samples,
            },
            database_url=url,
        )
        return check_result

    return _check


def build_soda_checks(
    contracts: Iterable[ContractFile], known_asset_keys: set[dg.AssetKey] | None = None
) -> list[dg.AssetChecksDefinition]:
    """A check per contract; with ``known_asset_keys``, only for assets that exist."""
    return [
        build_contract_check(contract)
        for contract in contracts
        if known_asset_keys is None or dg.AssetKey(contract.asset_key_path) in known_asset_keys
    ]
