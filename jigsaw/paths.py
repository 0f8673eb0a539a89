"""Where the project's folders are. Every path can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


def state_dir() -> Path:
    """Git-ignored folder for local state: embedded database, Dagster home, logs."""
    return _env_path("JIGSAW_STATE_DIR", REPO_ROOT / ".jigsaw")


def landing_dir() -> Path:
    """Deliveries exactly as each body sent them: landing/<body>/<delivery-date>/<file>."""
    return _env_path("JIGSAW_LANDING_DIR", REPO_ROOT / "data" / "landing")


def ground_truth_dir() -> Path:
    """The simulator's ground truth; read by evaluation only, never by the pipeline."""
    return _env_path("JIGSAW_GROUND_TRUTH_DIR", REPO_ROOT / "data" / "ground_truth")


def specs_dir() -> Path:
    return _env_path("JIGSAW_SPECS_DIR", REPO_ROOT / "ingestion" / "specs")


def dbt_project_dir() -> Path:
    return _env_path("JIGSAW_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project")


def contracts_dir() -> Path:
    return _env_path("JIGSAW_CONTRACTS_DIR", REPO_ROOT / "quality" / "contracts")


def reports_dir() -> Path:
    """The analysts' static report and the figures the analytics assets attach."""
    return _env_path("JIGSAW_REPORTS_DIR", REPO_ROOT / "data" / "reports")
