"""Factory for the quality gates and publishing: Soda contract checks, mart privacy, disclosure
and purpose checks, the database roles, and one publishing asset per mart.

A mart is built by dbt in `marts_build` (asset ``[<mart>]``); its gates are blocking checks on
that asset, and ``["marts", <mart>]`` copies it into `marts` only when they passed. A failed gate
leaves the last good version published and shows why in the check's metadata. Every check and
asset here reaches PostgreSQL through the code location's ``database`` resource.
"""

# No `from __future__ import annotations`: Dagster reads the context annotations at runtime.

from dataclasses import dataclass

import dagster as dg
import psycopg

from ingestion.spec import SourceSpec
from jigsaw import schemas
from jigsaw.database import parse_url
from orchestration.factories.soda_checks import build_soda_checks, record_gate
from orchestration.resources import DATABASE, PostgresResource
from quality.access import (
    check_access,
    grant_readers,
    may_carry_address,
    practitioner_purposes,
    reader_roles,
    readers,
)
from quality.audit import collect, enable_audit
from quality.contract_files import ContractFile
from quality.differencing import check_differencing
from quality.disclosure import PTABLE, THRESHOLD, check_disclosure
from quality.history import latest_outcomes
from quality.manifest import (
    MartModel,
    lineage,
    marts,
    model_names,
)
from quality.privacy import UPRN, check_privacy
from quality.publish import publish_marts
from quality.purpose import check_purpose
from quality.roles import ensure_roles

ROLES_KEY = dg.AssetKey(["quality", "database_roles"])
PERTURBATION_KEY = dg.AssetKey(["quality", "perturbation_table"])
ACCESS_LOG_KEY = dg.AssetKey(["quality", "access_log"])
PRIVACY_CHECK = "no_clear_identifiers"
DISCLOSURE_CHECK = "disclosure_control"
PURPOSE_CHECK = "purpose_limitation"
ACCESS_CHECK = "readers_by_purpose"
DIFFERENCING_CHECK = "no_differencing"


def _gate_result(
    context: dg.AssetCheckExecutionContext,
    database: PostgresResource,
    *,
    check_name: str,
    mart: str,
    findings: list[dict],
    summary: str,
    extra: dict | None = None,
) -> dg.AssetCheckResult:
    passed = not findings
    record_gate(
        context,
        check_name=check_name,
        dataset=f"{schemas.MARTS_BUILD}.{mart}",
        layer="marts",
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        diagnostics={"findings": findings, **(extra or {})},
        database_url=database.resolved_url(),
    )
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary if findings else f"{check_name} passed",
        metadata={
            "findings": dg.MetadataValue.json(findings),
            "findings_count": len(findings),
            **{k: dg.MetadataValue.json(v) for k, v in (extra or {}).items()},
        },
    )


def build_privacy_check(mart: MartModel) -> dg.AssetChecksDefinition:
    allowed = frozenset({UPRN}) if may_carry_address(mart) else frozenset()

    @dg.asset_check(
        asset=dg.AssetKey([mart.name]),
        name=PRIVACY_CHECK,
        blocking=True,
        description="No column holds clear identifiers (names, dates of birth, NHS numbers, "
        "full postcodes, addresses"
        + (
            "; UPRNs allowed: record level, read for an address purpose only"
            if allowed
            else ", UPRNs"
        )
        + "), by column name and by content.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, database: PostgresResource
    ) -> dg.AssetCheckResult:
        with database.connect(autocommit=False) as conn:
            try:
                findings = [
                    f.as_dict()
                    for f in check_privacy(conn, schemas.MARTS_BUILD, mart.name, allowed)
                ]
            except LookupError as missing:  # nothing built: nothing may be published either
                findings = [
                    {"column": "", "rule": "missing", "detected_by": "catalogue",
                     "detail": str(missing)}
                ]  # fmt: skip
        summary = "; ".join(f"{f['column']}: {f['rule']} ({f['detected_by']})" for f in findings)
        return _gate_result(
            context,
            database,
            check_name=PRIVACY_CHECK,
            mart=mart.name,
            findings=findings,
            summary=summary,
        )

    return _check


def build_disclosure_check(mart: MartModel) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey([mart.name]),
        name=DISCLOSURE_CHECK,
        blocking=True,
        description=f"Counts from 1 to {THRESHOLD - 1} are suppressed, and no group has a single "
        "suppressed cell that its total would reveal.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, database: PostgresResource
    ) -> dg.AssetCheckResult:
        with database.connect(autocommit=False) as conn:
            findings = [
                f.as_dict()
                for f in check_disclosure(
                    conn,
                    schemas.MARTS_BUILD,
                    mart.name,
                    counts=mart.meta.get("disclosure_counts"),
                    groups=mart.meta.get("disclosure_groups"),
                )
            ]
        summary = "; ".join(f"{f['column']}: {f['detail']}" for f in findings)
        return _gate_result(
            context,
            database,
            check_name=DISCLOSURE_CHECK,
            mart=mart.name,
            findings=findings,
            summary=summary,
        )

    return _check


def build_differencing_check(
    mart: MartModel, mart_models: list[MartModel]
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey([mart.name]),
        name=DIFFERENCING_CHECK,
        blocking=True,
        description="No mart that this aggregate's readers can also read holds its cell "
        f"dimensions ({', '.join(mart.meta.get('disclosure_groups') or []) or 'undeclared'}) "
        "at record level: suppressed cells cannot be recomputed by counting.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, database: PostgresResource
    ) -> dg.AssetCheckResult:
        with database.connect(autocommit=False) as conn:
            findings = [f.as_dict() for f in check_differencing(conn, mart, mart_models)]
        summary = "; ".join(f["detail"] for f in findings)
        return _gate_result(
            context,
            database,
            check_name=DIFFERENCING_CHECK,
            mart=mart.name,
            findings=findings,
            summary=summary,
            extra={"readers": readers(mart)},
        )

    return _check


def build_purpose_check(
    mart: MartModel, manifest: dict, specs: list[SourceSpec]
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey([mart.name]),
        name=PURPOSE_CHECK,
        blocking=True,
        description=f"Purpose {', '.join(mart.purposes) or '(none declared)'} is permitted by "
        "the sharing agreement of every source in the mart's lineage.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, database: PostgresResource
    ) -> dg.AssetCheckResult:
        report = check_purpose(manifest, mart, specs)
        findings = [v.as_dict() for v in report.violations]
        summary = "; ".join(f"{v.source}: {v.reason}" for v in report.violations)
        return _gate_result(
            context,
            database,
            check_name=PURPOSE_CHECK,
            mart=mart.name,
            findings=findings,
            summary=summary,
            extra={
                "purposes": mart.purposes,
                "sources": report.sources,
                "exceptions": report.excepted,
            },
        )

    return _check


@dataclass(frozen=True)
class PublishingGates:
    """What must hold before a mart is published.

    ``own``: the mart's gates, which run in the same run as its build and must have passed.
    ``upstream``: blocking contracts on what the mart is built from; their latest verdict must
    not be a failure (a broken delivery checked in an earlier ingestion run blocks publishing
    until a good one replaces it).
    """

    own: list[str]
    upstream: list[ContractFile]

    def names(self) -> list[str]:
        return self.own + [f"{c.dataset}:{c.check_name}" for c in self.upstream]


def publishing_gates(
    mart: MartModel, manifest: dict, contracts: list[ContractFile]
) -> PublishingGates:
    own = [PRIVACY_CHECK, PURPOSE_CHECK]
    if mart.is_aggregate:
        own += [DISCLOSURE_CHECK, DIFFERENCING_CHECK]
    own += [c.check_name for c in contracts if c.layer == "marts" and c.table == mart.name]
    upstream = lineage(manifest, mart.unique_id)
    feeding = [
        c
        for c in contracts
        if c.blocking
        and (
            (c.layer == "raw" and (c.schema, c.table) in upstream.sources)
            or (c.layer != "raw" and c.table in upstream.models)
        )
    ]
    return PublishingGates(own=own, upstream=feeding)


def build_publish_asset(mart: MartModel, gates: PublishingGates) -> dg.AssetsDefinition:
    # Depending on the gated models upstream (not only on the mart) makes Dagster wait for their
    # blocking checks in the same run: dbt builds them all in one step, so a failed core gate
    # could not otherwise stop publishing.
    upstream_models = [dg.AssetKey([c.table]) for c in gates.upstream if c.layer != "raw"]

    @dg.asset(
        key=dg.AssetKey([schemas.MARTS, mart.name]),
        deps=[dg.AssetKey([mart.name]), *upstream_models, ROLES_KEY],
        group_name="published",
        description=f"{mart.name} as analysts see it: marts_build.{mart.name} swapped into "
        "`marts` atomically, once its blocking gates and those upstream passed.",
        metadata={"purpose": mart.purposes, "gates": gates.names(), "readers": readers(mart)},
    )
    def _publish(
        context: dg.AssetExecutionContext, database: PostgresResource
    ) -> dg.MaterializeResult:
        with database.connect(autocommit=False) as conn:
            # Dagster skips this asset when a gate fails in the same run; the history also
            # guards runs that only publish, and failures recorded by earlier ingestion runs.
            blocked = gates_blocking_publication(conn, mart.name, gates)
            if blocked:
                raise dg.Failure(
                    description=f"{mart.name} not published: {'; '.join(blocked)}. "
                    "Analysts keep the last good version.",
                    metadata={"blocked_by": blocked},
                )
            [publication] = publish_marts(conn, [mart], run_id=context.run.run_id)
        return dg.MaterializeResult(
            metadata={
                "row_count": publication.row_count,
                "readers": list(publication.readers),
                "published_from": f"{schemas.MARTS_BUILD}.{mart.name}",
                "gates": gates.names(),
            }
        )

    return _publish


def gates_blocking_publication(
    conn: psycopg.Connection, mart: str, gates: PublishingGates
) -> list[str]:
    latest = latest_outcomes(conn)
    own = f"{schemas.MARTS_BUILD}.{mart}"
    blocked = [
        f"{own}:{g} {latest.get((own, g), 'not run')}"
        for g in gates.own
        if latest.get((own, g)) != "passed"
    ]
    blocked += [
        f"{c.dataset}:{c.check_name} failed"
        for c in gates.upstream
        if latest.get((c.dataset, c.check_name)) == "failed"
    ]
    return blocked


def build_roles_asset(mart_models: list[MartModel]) -> dg.AssetsDefinition:
    purposes = practitioner_purposes(mart_models)

    @dg.asset(
        key=ROLES_KEY,
        group_name="quality",
        description="jigsaw_engineer, jigsaw_linkage, jigsaw_analyst and one practitioner role "
        f"per purpose of a record-level mart ({', '.join(purposes) or 'none'}), with their "
        "grants, (re)applied to the database; the published marts' readers re-applied from "
        "each mart's meta.",
        # Grants over whole schemas can collide with dbt swapping tables in the same run.
        retry_policy=dg.RetryPolicy(max_retries=3, delay=5),
    )
    def database_roles(database: PostgresResource) -> dg.MaterializeResult:
        url = database.resolved_url()
        with psycopg.connect(url) as conn:
            roles = ensure_roles(conn, parse_url(url).dbname, purposes=purposes)
            audited = _audit_readers(conn, reader_roles(conn))
            with conn.transaction():
                published = {
                    name
                    for (name,) in conn.execute(
                        "select table_name from information_schema.tables where table_schema = %s",
                        (schemas.MARTS,),
                    ).fetchall()
                }
                for mart in mart_models:
                    if mart.name in published:
                        grant_readers(conn, mart)
        return dg.MaterializeResult(metadata={"roles": roles, "audit": audited})

    return database_roles


def _audit_readers(conn: psycopg.Connection, roles: list[str]) -> str:
    """Turn on the audit of every reader role, or say why it is not on."""
    try:
        with conn.transaction():
            return enable_audit(conn, roles)
    except psycopg.errors.InsufficientPrivilege:
        return "not enabled: setting the audit of a role needs a superuser"


@dg.asset(
    key=ACCESS_LOG_KEY,
    deps=[ROLES_KEY],
    group_name="quality",
    kinds={"postgres"},
    description="For the data protection officer: who read what. Every statement of the "
    "analyst and practitioner roles, read from the server's CSV log (pgaudit, else "
    "log_statement) into quality.access_log; summary in the view quality.who_read_what.",
)
def access_log(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    with database.connect() as conn:
        roles = reader_roles(conn)
        try:
            stats = collect(conn, roles)
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFile) as why:
            context.log.warning(
                f"no access log collected ({why}): the server must write its log as CSV "
                "(log_destination = 'csvlog') and the pipeline's role read it"
            )
            stats = {"log_files": 0, "accesses_added": 0, "not_collected": str(why)}
        if not stats["log_files"]:
            context.log.warning("the server writes no CSV log: reads are not collected here")
        summary = (
            conn.execute(
                "select who, relation, outcome, statements, last_read_at::text"
                " from quality.who_read_what order by last_read_at desc nulls last limit 50"
            ).fetchall()
            if _has_view(conn)
            else []
        )
    return dg.MaterializeResult(
        metadata={
            **stats,
            "audited_roles": roles,
            "who_read_what": dg.MetadataValue.md(_markdown(summary)),
        }
    )


def _has_view(conn: psycopg.Connection) -> bool:
    return conn.execute("select to_regclass('quality.who_read_what') is not null").fetchone()[0]


def _markdown(rows: list[tuple]) -> str:
    lines = ["| who | relation | outcome | statements | last |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


database_roles = build_roles_asset([])


@dg.asset(
    key=PERTURBATION_KEY,
    group_name="quality",
    kinds={"python", "postgres"},
    description=f"The p-table of cell-key perturbation ({PTABLE}, from ONS's "
    "cell-key-perturbation package) that dbt applies to every published aggregate count.",
)
def perturbation_table(database: PostgresResource) -> dg.MaterializeResult:
    # Imported here: it brings pandas, which no other part of loading the definitions needs.
    from quality.perturbation import write_perturbation_table

    with database.connect(autocommit=False) as conn:
        return dg.MaterializeResult(metadata=write_perturbation_table(conn))


def build_access_check(mart: MartModel, mart_models: list[MartModel]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey([schemas.MARTS, mart.name]),
        name=ACCESS_CHECK,
        description="Read back from the catalogue: every role that can read the published mart "
        f"is one its meta names ({', '.join(readers(mart)) or 'none'}), and no practitioner "
        "reads a mart of a purpose its agreements do not permit.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, database: PostgresResource
    ) -> dg.AssetCheckResult:
        with database.connect(autocommit=False) as conn:
            findings = [f.as_dict() for f in check_access(conn, mart_models) if f.mart == mart.name]
        summary = "; ".join(f"{f['role']}: {f['reason']}" for f in findings)
        return _gate_result(
            context,
            database,
            check_name=ACCESS_CHECK,
            mart=mart.name,
            findings=findings,
            summary=summary,
            extra={"readers": readers(mart)},
        )

    return _check


def build_mart_defs(
    manifest: dict, specs: list[SourceSpec], contracts: list[ContractFile]
) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    assets, checks = [], []
    mart_models = marts(manifest)
    for mart in mart_models:
        checks += [
            build_privacy_check(mart),
            build_purpose_check(mart, manifest, specs),
            build_access_check(mart, mart_models),
        ]
        if mart.is_aggregate:
            checks += [build_disclosure_check(mart), build_differencing_check(mart, mart_models)]
        assets.append(build_publish_asset(mart, publishing_gates(mart, manifest, contracts)))
    return assets, checks


def build_quality_defs(
    manifest: dict | None, specs: list[SourceSpec], contracts: list[ContractFile]
) -> dg.Definitions:
    known = {dg.AssetKey([s.raw_schema, e.name]) for s in specs for e in s.entities}
    assets: list = [
        build_roles_asset(marts(manifest) if manifest is not None else []),
        perturbation_table,
        access_log,
    ]
    checks = []
    if manifest is not None:
        known |= {dg.AssetKey([name]) for name in model_names(manifest)}
        mart_assets, checks = build_mart_defs(manifest, specs, contracts)
        assets += mart_assets
    checks += build_soda_checks(contracts, known_asset_keys=known)
    return dg.Definitions(assets=assets, asset_checks=checks, resources={"database": DATABASE})
