"""Global policy for every asset, applied once in orchestration/definitions.py after loading
orchestration/defs/ (as dagster-open-platform does), not repeated in each factory.

- **Owners**: who answers for an asset. A raw table: its body's ``owner`` (source spec); a dbt
  model: its ``meta.owner`` (JigsawDbtTranslator); a published mart: the owner of the mart it
  publishes; anything else: the ODA team of its group (``GROUP_OWNERS``). Dagster wants
  ``team:<name>`` or an e-mail, so an owner's name becomes ``team:<slug>``.
- **Kinds**: the storage and tool icons; an asset without any gets ``DEFAULT_KINDS``.
- **Code versions**: a raw table's version is a hash of its spec and of the factory that builds
  it; a Python asset's is a hash of its function's module; dbt models keep dagster-dbt's hash of
  their SQL. A changed definition then shows as changed in the UI.
- **Freshness**: a raw table must receive a delivery every ``delivery_every_months`` (warn
  once that is past, fail after ``DELIVERY_GRACE`` more); a published mart must have been
  republished by the nightly regional build (``MART_FRESHNESS``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import re
import sys
import warnings
from pathlib import Path

import dagster as dg

from ingestion.spec import Entity, SourceSpec, load_specs

OWNER_PREFIX = "team:"
GROUP_OWNERS = {
    "linkage": "Office of Data Analytics, Identity Resolution",
}
DEFAULT_OWNER = "Office of Data Analytics, Data Engineering"
PUBLISHED_GROUP = "published"
# Kinds for assets their factories give none: the published marts and the roles are tables and
# grants in PostgreSQL; anything else is Python.
GROUP_KINDS = {PUBLISHED_GROUP: {"postgres"}, "quality": {"postgres"}}
DEFAULT_KINDS = {"python"}

# A month, for freshness windows: the longest, so a delivery on the last day is not late.
MONTH = dt.timedelta(days=31)
# How long past its due date a delivery may arrive before its table fails freshness.
DELIVERY_GRACE = dt.timedelta(days=14)
# The nightly regional build starts at 02:30 (orchestration/defs/jobs.py); by 07:00 every mart
# must have been republished within the last day.
MART_FRESHNESS_DEADLINE_CRON = "0 7 * * *"
MART_FRESHNESS_TIMEZONE = "Europe/London"
MART_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=MART_FRESHNESS_DEADLINE_CRON,
    lower_bound_delta=dt.timedelta(days=1),
    timezone=MART_FRESHNESS_TIMEZONE,
)


def team_owner(name: str) -> str:
    """``team:<slug>`` for an owner's name ("Police force, Information Sharing Unit" ->
    "team:police_force_information_sharing_unit"); an e-mail address stays as it is."""
    if "@" in name and " " not in name.strip():
        return name.strip()
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return OWNER_PREFIX + (slug or "unknown")


def raw_freshness(entity: Entity) -> dg.FreshnessPolicy | None:
    """Warn when a delivery is due, fail once it is ``DELIVERY_GRACE`` late; none for data
    delivered on no schedule (``delivery_every_months: null``)."""
    if not entity.delivery_every_months:
        return None
    due = MONTH * entity.delivery_every_months
    return dg.FreshnessPolicy.time_window(fail_window=due + DELIVERY_GRACE, warn_window=due)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _module_source(obj: object) -> str:
    try:
        return Path(inspect.getsourcefile(obj) or "").read_text()
    except (TypeError, OSError):
        return ""


def spec_code_version(spec: SourceSpec, entity: Entity, factory_source: str) -> str:
    """Changes when the body's spec (its agreement or this entity) or the factory changes."""
    body = spec.model_dump(mode="json", exclude={"entities"})
    document = json.dumps({"body": body, "entity": entity.model_dump(mode="json")}, sort_keys=True)
    return _digest(document, factory_source)


def _python_code_versions(defs: dg.Definitions) -> dict[dg.AssetKey, str]:
    """A hash of each Python asset's function module, by asset key (dbt assets excluded)."""
    versions = {}
    for assets_def in defs.assets or []:
        if not isinstance(assets_def, dg.AssetsDefinition) or not assets_def.is_executable:
            continue
        fn = getattr(assets_def.op.compute_fn, "decorated_fn", None)
        source = _module_source(fn) if fn else ""
        if source:
            for key in assets_def.keys:
                versions[key] = _digest(source)
    return versions


class _Policy:
    """What every asset spec is mapped through; built from the specs and the loaded defs."""

    def __init__(self, defs: dg.Definitions, specs: list[SourceSpec]) -> None:
        self.raw = {
            dg.AssetKey([spec.raw_schema, entity.name]): (spec, entity)
            for spec in specs
            for entity in spec.entities
        }
        self.python_versions = _python_code_versions(defs)
        factory = sys.modules.get("orchestration.factories.ingestion_assets")
        self.factory_source = _module_source(factory) if factory else ""
        # The owner of each dbt mart (its meta.owner, made an owner by the translator), for the
        # asset that publishes it.
        self.owners_by_name = {
            spec.key.path[-1]: spec.owners
            for spec in (
                s for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) for s in a.specs
            )
            if spec.owners and len(spec.key.path) == 1
        }

    def owners(self, spec: dg.AssetSpec) -> list[str]:
        if spec.owners:
            return list(spec.owners)
        if spec.key in self.raw:
            return [team_owner(self.raw[spec.key][0].owner)]
        if spec.group_name == PUBLISHED_GROUP and spec.key.path[-1] in self.owners_by_name:
            return list(self.owners_by_name[spec.key.path[-1]])
        return [team_owner(GROUP_OWNERS.get(spec.group_name or "", DEFAULT_OWNER))]

    def code_version(self, spec: dg.AssetSpec) -> str | None:
        if spec.code_version:
            return spec.code_version
        if spec.key in self.raw:
            return spec_code_version(*self.raw[spec.key], self.factory_source)
        return self.python_versions.get(spec.key)

    def freshness(self, spec: dg.AssetSpec) -> dg.FreshnessPolicy | None:
        if spec.freshness_policy is not None:
            return spec.freshness_policy
        if spec.key in self.raw:
            return raw_freshness(self.raw[spec.key][1])
        if spec.group_name == PUBLISHED_GROUP:
            return MART_FRESHNESS
        return None

    def __call__(self, spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(
            owners=self.owners(spec),
            kinds=set(spec.kinds) or GROUP_KINDS.get(spec.group_name or "", DEFAULT_KINDS),
            code_version=self.code_version(spec),
            freshness_policy=self.freshness(spec),
        )


def apply_global_policies(
    defs: dg.Definitions, specs: list[SourceSpec] | None = None
) -> dg.Definitions:
    """Owners, kinds, code versions and freshness on every asset of ``defs``."""
    policy = _Policy(defs, load_specs() if specs is None else specs)
    with warnings.catch_warnings():
        # map_asset_specs is marked preview in Dagster 1.13; it is the documented way to do this.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=policy)
