"""The dbt docs site analysts read: published relation names and an overview that lists every
mart with its purpose and disclosure level, built from the models' own meta."""

from __future__ import annotations

import json

from jigsaw import schemas
from orchestration.cli.docs_site import build_docs_site, publish_names
from orchestration.factories.dbt_assets import ensure_manifest, jigsaw_dbt_project
from quality.manifest import marts


def _manifest() -> dict:
    return json.loads(ensure_manifest(jigsaw_dbt_project()).read_text())


def test_marts_carry_their_published_names_and_the_overview_lists_them():
    manifest = _manifest()
    found = marts(manifest)
    assert len(found) >= 5
    first = found[0]
    catalog = {"nodes": {first.unique_id: {"metadata": {"schema": schemas.MARTS_BUILD}}}}
    staging = next(n for n in manifest["nodes"].values() if n["name"] == "stg_police__incidents")
    staging_schema = staging["schema"]

    manifest, catalog = publish_names(manifest, catalog)

    for mart in found:
        node = manifest["nodes"][mart.unique_id]
        assert node["schema"] == "marts"
        assert node["relation_name"].endswith(f'"marts"."{mart.name}"')
    assert catalog["nodes"][first.unique_id]["metadata"]["schema"] == "marts"
    assert staging["schema"] == staging_schema  # only the marts are renamed

    [overview] = [
        d
        for uid, d in manifest["docs"].items()
        if d["name"] == "__overview__" and uid.startswith("doc.jigsaw.")
    ]
    text = overview["block_contents"]
    assert "jigsaw_analyst" in text  # how to connect
    for mart in found:
        [line] = [row for row in text.splitlines() if f"`marts.{mart.name}`" in row]
        assert mart.meta["purpose"] in line and mart.meta["disclosure"] in line


def test_the_site_is_a_copy_and_dbts_target_is_left_for_dagster(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    manifest = _manifest()
    (target / "manifest.json").write_text(json.dumps(manifest))
    (target / "catalog.json").write_text(json.dumps({"nodes": {}}))
    (target / "index.html").write_text("<html></html>")

    site = build_docs_site(target, tmp_path / "site")

    assert sorted(p.name for p in site.iterdir()) == ["catalog.json", "index.html", "manifest.json"]
    assert json.loads((target / "manifest.json").read_text()) == manifest
    published = json.loads((site / "manifest.json").read_text())
    mart = marts(manifest)[0]
    assert published["nodes"][mart.unique_id]["schema"] == "marts"
