"""Reading YAML files fast: libyaml's C loader when PyYAML has it (about 10x the pure-Python
one; the specs, contracts and dbt YAML are read by every process that loads the definitions),
else the pure-Python loader. Both are the safe loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
