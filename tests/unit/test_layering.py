"""Floors that point one way, checked on the source (every import, function-level ones too):

    jigsaw (paths, database, schema names)  <  ingestion  <  linkage, quality  <  analytics
        <  orchestration (Dagster: assembles all of them)

A package imports only the floors below it, with no named exceptions; nothing in the product
imports ``tests`` or ``benchmarks``. What drives the whole pipeline (the CLI, the demo runner,
the settings they settle) lives on the top floor, in ``orchestration``, so the basement
``jigsaw`` imports nothing of the project's above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from jigsaw.paths import REPO_ROOT

PRODUCT = ("jigsaw", "ingestion", "linkage", "quality", "analytics", "orchestration")
NOT_PRODUCT = ("tests", "benchmarks")
MAY_IMPORT = {
    "jigsaw": set(),
    "ingestion": {"jigsaw"},
    "linkage": {"jigsaw", "ingestion"},
    "quality": {"jigsaw", "ingestion"},
    "analytics": {"jigsaw", "ingestion", "quality"},
    "orchestration": {"jigsaw", "ingestion", "linkage", "quality", "analytics"},
}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def violations(root: Path, packages: tuple[str, ...] = PRODUCT) -> list[str]:
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(path, root)
            for line, name in imported_modules(path, module):
                top = name.split(".")[0]
                where = f"{path.relative_to(root)}:{line} imports {name}"
                if top in NOT_PRODUCT:
                    found.append(f"{where} (product code never imports {top})")
                    continue
                below = {package, *MAY_IMPORT[package]}
                if top in MAY_IMPORT and top not in below:
                    found.append(f"{where} (a floor above {package})")
    return found


def test_the_floors_point_one_way():
    assert violations(REPO_ROOT) == []


def test_the_check_catches_an_upward_import_and_a_test_import(tmp_path):
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "__init__.py").write_text("")
    (tmp_path / "quality" / "gate.py").write_text(
        "from ingestion.spec import load_specs\n"  # allowed: a floor below
        "def run():\n"
        "    from orchestration.definitions import defs\n"  # a function-level import counts
        "    from tests.dbt.region import load_small_region\n"
        "from . import gate\n"  # relative, within the package: allowed
    )
    found = violations(tmp_path, ("quality",))
    assert len(found) == 2, found
    assert "quality/gate.py:3 imports orchestration.definitions" in found[0]
    assert "quality/gate.py:4 imports tests.dbt.region" in found[1]


def test_the_basement_imports_no_floor_above_it(tmp_path):
    (tmp_path / "jigsaw").mkdir()
    (tmp_path / "jigsaw" / "__init__.py").write_text("")
    (tmp_path / "jigsaw" / "runner.py").write_text(
        "from jigsaw.paths import landing_dir\n"  # its own floor: allowed
        "from orchestration.cli.demo import run_demo\n"
    )
    found = violations(tmp_path, ("jigsaw",))
    assert found == ["jigsaw/runner.py:2 imports orchestration.cli.demo (a floor above jigsaw)"]


def test_inside_orchestration_the_floors_point_one_way_too():
    """``orchestration.definitions`` assembles the factories and ``defs/`` modules, and the
    command line (``orchestration.cli``) drives all of them: neither is imported from below."""
    found = []
    for path in sorted((REPO_ROOT / "orchestration").rglob("*.py")):
        module = module_name(path, REPO_ROOT)
        if module.startswith("orchestration.cli"):
            continue
        assembled = module.startswith(("orchestration.factories", "orchestration.defs"))
        for line, name in imported_modules(path, module):
            upward = name.startswith("orchestration.cli") or (
                assembled and name == "orchestration.definitions"
            )
            if upward:
                found.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {name}")
    assert found == []
