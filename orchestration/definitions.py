"""The Dagster code location: ``workspace.yaml`` (and ``dagster dev``) load ``defs`` from here.

It imports every module in ``orchestration/defs/`` whose name does not start with ``_``, takes
the ``defs`` (a ``dagster.Definitions``) each must define (a TypeError names a module that does
not), merges them, and sets owners, kinds, code versions and freshness on every asset
(``orchestration.policies.apply_global_policies``). Nothing else: no asset is listed here.
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

from orchestration import defs as defs_package
from orchestration.policies import apply_global_policies


def load_defs_modules() -> list[dg.Definitions]:
    found = []
    for module_info in sorted(pkgutil.iter_modules(defs_package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{defs_package.__name__}.{module_info.name}")
        module_defs = getattr(module, "defs", None)
        if not isinstance(module_defs, dg.Definitions):
            raise TypeError(
                f"orchestration/defs/{module_info.name}.py must define `defs = dg.Definitions(...)`"
            )
        found.append(module_defs)
    return found


def build_definitions() -> dg.Definitions:
    """Every defs module merged, then owners, kinds, code versions and freshness applied to
    every asset (orchestration/policies.py)."""
    return apply_global_policies(dg.Definitions.merge(*load_defs_modules()))


defs = build_definitions()
