"""The Dagster code location: everything under orchestration/defs/, plus global policy.

Nothing is listed here by hand. Each module in ``orchestration/defs/`` exposes a ``defs``
(a ``dagster.Definitions``) built by the factories from specs and the dbt manifest; this file
merges them and applies what holds for all of them.
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
