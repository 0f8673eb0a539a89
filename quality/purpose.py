"""Purpose limitation: a mart may only use sources whose sharing agreement permits its purpose.

Each mart declares ``meta.purpose``; the dbt lineage gives the sources it reads (``raw_<body>``),
and each body's source spec gives the purposes its sharing agreement permits.

Model-level lineage cannot see a row filter (a mart that keeps only permitted bodies' rows of a
shared fact). Such a case may be declared, with its reason, in the mart's meta:
    purpose_exceptions: {raw_police: "only housing_provider rows of fct_service_contact are used"}
An exception is never silent: the check lists it, with its reason, in its metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.spec import SourceSpec
from quality.manifest import MartModel, path_to_source, upstream_sources

# Sources that are not a body's delivery: the linkage keys are derived by the ODA itself and
# carry no purpose restriction beyond those of the records they link (checked via raw_<body>);
# `quality` holds disclosure control's p-table, no personal data.
DERIVED_SOURCES = {"linkage", "quality"}


@dataclass(frozen=True)
class PurposeViolation:
    mart: str
    purpose: str
    source: str
    reason: str
    via: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "mart": self.mart,
            "purpose": self.purpose,
            "source": self.source,
            "reason": self.reason,
            "via": " <- ".join(self.via),
        }


@dataclass(frozen=True)
class PurposeReport:
    sources: list[str]
    violations: list[PurposeViolation]
    excepted: list[dict]  # violations waived by a reasoned meta.purpose_exceptions entry

    @property
    def passed(self) -> bool:
        return not self.violations


def check_purpose(manifest: dict, mart: MartModel, specs: list[SourceSpec]) -> PurposeReport:
    """The sources the mart uses, and every way its purpose is not permitted by them."""
    sources = sorted(upstream_sources(manifest, mart.unique_id))
    violations = _violations(manifest, mart, specs, sources)
    exceptions = mart.meta.get("purpose_exceptions") or {}
    if not isinstance(exceptions, dict):
        exceptions = {}
    waived = {
        source: str(reason).strip()
        for source, reason in exceptions.items()
        if str(reason or "").strip()
    }
    excepted = [
        {**v.as_dict(), "exception": waived[v.source]} for v in violations if v.source in waived
    ]
    remaining = [v for v in violations if v.source not in waived]
    return PurposeReport(sources, remaining, excepted)


def _violations(
    manifest: dict, mart: MartModel, specs: list[SourceSpec], sources: list[str]
) -> list[PurposeViolation]:
    agreements = {spec.raw_schema: spec for spec in specs}
    if not mart.purposes:
        return [PurposeViolation(mart.name, "", "", "the mart declares no meta.purpose")]
    violations = []
    for source in sources:
        if source in DERIVED_SOURCES:
            continue
        spec = agreements.get(source)
        if spec is None:
            violations.append(
                PurposeViolation(
                    mart.name,
                    ",".join(mart.purposes),
                    source,
                    "no source spec (and so no sharing agreement) for this source",
                )
            )
            continue
        permitted = spec.sharing_agreement.permitted_purposes
        for purpose in mart.purposes:
            if purpose not in permitted:
                violations.append(
                    PurposeViolation(
                        mart.name,
                        purpose,
                        source,
                        f"sharing agreement {spec.sharing_agreement.reference} permits only "
                        f"{', '.join(permitted)}",
                        via=tuple(path_to_source(manifest, mart.unique_id, source)),
                    )
                )
    return violations
