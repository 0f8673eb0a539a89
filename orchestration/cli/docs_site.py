"""The dbt docs catalogue as analysts should read it, and a server for it (`make docs`).

dbt builds the marts in the private ``marts_build`` schema; analysts read them in ``marts``
once every gate passed (``quality.publish``). The catalogue dbt generates therefore names
``marts_build.<mart>``, a relation analysts cannot read. This module copies dbt's generated
site (``index.html``, ``manifest.json``, ``catalog.json``) to its own folder with the marts'
published relation names, and appends to the overview page (``{% docs __overview__ %}`` in
``dbt_project/models/overview.md``) a table of the marts built from their own ``meta``
(purpose, disclosure, owner), so that table never repeats what the models' YAML says.

dbt's own ``target/manifest.json`` is left alone: Dagster reads it and must keep the build
relations.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
from pathlib import Path

from jigsaw import schemas
from jigsaw.paths import state_dir
from quality.manifest import marts

SITE_FILES = ("index.html", "manifest.json", "catalog.json")
OVERVIEW_DOC = "__overview__"
MARTS_HEADING = "## The published marts"


def docs_site_dir() -> Path:
    return state_dir() / "dbt_docs"


def _published_relation(node: dict) -> str:
    return f'"{node["database"]}"."{schemas.MARTS}"."{node.get("alias") or node["name"]}"'


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    return text.split(". ")[0].rstrip(".") + "." if text else ""


def marts_table(manifest: dict) -> str:
    """Markdown: one row per mart with its published name, purpose, disclosure and owner."""
    rows = [
        MARTS_HEADING,
        "",
        "| mart (connect and query this) | what it is for | purpose | disclosure | owner |",
        "|---|---|---|---|---|",
    ]
    for mart in sorted(marts(manifest), key=lambda m: m.name):
        node = manifest["nodes"][mart.unique_id]
        what = _first_sentence(node.get("description", ""))
        rows.append(
            f"| `{schemas.MARTS}.{mart.name}` | {what} | {mart.meta.get('purpose', '')} "
            f"| {mart.meta.get('disclosure', '')} | {mart.meta.get('owner', '')} |"
        )
    return "\n".join(rows)


def publish_names(manifest: dict, catalog: dict) -> tuple[dict, dict]:
    """The manifest and catalog with each mart under its published relation, and the marts'
    table on the overview page."""
    table = marts_table(manifest)
    for mart in marts(manifest):
        node = manifest["nodes"][mart.unique_id]
        node["schema"] = schemas.MARTS
        node["relation_name"] = _published_relation(node)
        entry = catalog.get("nodes", {}).get(mart.unique_id)
        if entry:
            entry["metadata"]["schema"] = schemas.MARTS
    for unique_id, doc in manifest.get("docs", {}).items():
        if doc.get("name") == OVERVIEW_DOC and not unique_id.startswith("doc.dbt."):
            doc["block_contents"] = doc["block_contents"].rstrip() + "\n\n" + table
    return manifest, catalog


def build_docs_site(target: Path, site: Path | None = None) -> Path:
    """Copies dbt's generated site from ``target`` to ``site`` with the published names."""
    site = site or docs_site_dir()
    missing = [name for name in SITE_FILES if not (target / name).exists()]
    if missing:
        raise FileNotFoundError(f"{target}: no {', '.join(missing)}; run `dbt docs generate`")
    site.mkdir(parents=True, exist_ok=True)
    manifest, catalog = publish_names(
        json.loads((target / "manifest.json").read_text()),
        json.loads((target / "catalog.json").read_text()),
    )
    shutil.copyfile(target / "index.html", site / "index.html")
    (site / "manifest.json").write_text(json.dumps(manifest))
    (site / "catalog.json").write_text(json.dumps(catalog))
    return site


def serve_docs_site(site: Path, host: str, port: int) -> None:
    """Serves the site until interrupted (what ``dbt docs serve`` does, on our copy)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        server.serve_forever()
