"""What the quality gates need from dbt's manifest: the models, the marts and their lineage.

Mart metadata read here (dbt ``meta``, set in each mart's YAML):
    purpose: early_intervention          # or a list; must be permitted by every source used
    disclosure: aggregate                # published counts are subject to disclosure control
    disclosure_counts: [n_people, ...]   # count columns (default: found by name, see disclosure)
    disclosure_groups: [lsoa_code]       # cells within a group whose total can be derived
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from jigsaw import schemas
from jigsaw.paths import dbt_project_dir


def manifest_path() -> Path:
    return dbt_project_dir() / "target" / "manifest.json"


def load_manifest(path: Path | None = None) -> dict | None:
    """The parsed manifest, or None before dbt has compiled the project."""
    path = path or manifest_path()
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class MartModel:
    name: str
    unique_id: str
    meta: dict = field(default_factory=dict)

    @property
    def purposes(self) -> list[str]:
        purpose = self.meta.get("purpose")
        if purpose is None:
            return []
        return [purpose] if isinstance(purpose, str) else list(purpose)

    @property
    def is_aggregate(self) -> bool:
        return self.meta.get("disclosure") == "aggregate"


def _meta(node: dict) -> dict:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _is_mart(node: dict) -> bool:
    if node.get("resource_type") != "model":
        return False
    in_marts_folder = (node.get("original_file_path") or node.get("path") or "").replace("\\", "/")
    return "/marts/" in f"/{in_marts_folder}" or node.get("schema") == schemas.MARTS_BUILD


def model_names(manifest: dict) -> set[str]:
    return {
        n["name"] for n in manifest.get("nodes", {}).values() if n.get("resource_type") == "model"
    }


def marts(manifest: dict) -> list[MartModel]:
    found = [
        MartModel(name=node["name"], unique_id=unique_id, meta=_meta(node))
        for unique_id, node in manifest.get("nodes", {}).items()
        if _is_mart(node)
    ]
    return sorted(found, key=lambda m: m.name)


@dataclass(frozen=True)
class Lineage:
    """Everything upstream of a node: model names and (source_name, table) pairs."""

    models: frozenset[str]
    sources: frozenset[tuple[str, str]]


def lineage(manifest: dict, unique_id: str) -> Lineage:
    nodes, sources = manifest.get("nodes", {}), manifest.get("sources", {})
    seen: set[str] = set()
    models: set[str] = set()
    found: set[tuple[str, str]] = set()
    stack = list((nodes.get(unique_id, {}).get("depends_on") or {}).get("nodes", []))
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in sources:
            source = sources[current]
            found.add((source["source_name"], source.get("name", "")))
            continue
        node = nodes.get(current, {})
        if node.get("resource_type") == "model":
            models.add(node["name"])
        stack.extend((node.get("depends_on") or {}).get("nodes", []))
    return Lineage(frozenset(models), frozenset(found))


def path_to_source(manifest: dict, unique_id: str, source_name: str) -> list[str]:
    """The shortest chain of model names from a node to a source, for diagnostics."""
    nodes, sources = manifest.get("nodes", {}), manifest.get("sources", {})
    previous: dict[str, str | None] = {unique_id: None}
    queue = [unique_id]
    while queue:
        current = queue.pop(0)
        if current in sources and sources[current]["source_name"] == source_name:
            chain = []
            while current is not None:
                node = nodes.get(current) or sources.get(current) or {}
                name = node.get("name", current)
                chain.append(f"{source_name}.{name}" if current in sources else name)
                current = previous[current]
            return list(reversed(chain))
        for parent in (nodes.get(current, {}).get("depends_on") or {}).get("nodes", []):
            if parent not in previous:
                previous[parent] = current
                queue.append(parent)
    return []


def upstream_sources(manifest: dict, unique_id: str) -> set[str]:
    """Every dbt source (``source_name``) a node reads, directly or through other models."""
    return {name for name, _ in lineage(manifest, unique_id).sources}
