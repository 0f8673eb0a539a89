"""What dbt reads as ``var(...)`` where the owner of the value is a Python module.

Every dbt command of the project (parse, build, run, docs, show, and sqlfluff's templater) gets
them as ``--vars``, so ``dbt_project.yml`` holds no copy: the disclosure threshold
(``quality/disclosure.py``) and the schema names (``jigsaw/schemas.py``).
"""

from __future__ import annotations

import json

from jigsaw import schemas
from quality.disclosure import THRESHOLD


def dbt_vars() -> dict:
    return {"disclosure_threshold": THRESHOLD, **schemas.DBT_VARS}


def dbt_vars_arguments(extra: dict | None = None) -> list[str]:
    """``--vars`` for every dbt command of the project, with a run's own vars (``extra``, e.g.
    a delivery's slice) beside them."""
    return ["--vars", json.dumps({**dbt_vars(), **(extra or {})})]
