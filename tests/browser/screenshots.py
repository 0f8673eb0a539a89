"""Fresh screenshots of the Dagster UI for the README's operations section, from the same small
loaded region as the browser test: `.venv/bin/python -m tests.browser.screenshots`.

Needs a PostgreSQL server (JIGSAW_DATABASE_URL's, else 127.0.0.1:5432) and Debian's chromium;
it creates and drops a database of its own.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from jigsaw import database
from jigsaw.paths import REPO_ROOT
from tests.browser.test_dagster_ui import CHROMIUM_ARGS, chromium_path, open_page
from tests.browser.ui_region import dagster_ui, load_region

IMAGES = REPO_ROOT / "docs" / "img"
SHOTS = {
    "dagster-partition.png": "/assets/raw_police/incidents?view=partitions&partition=2026-02",
    "dagster-check-failed.png": "/assets/raw_police/incidents?view=checks",
    "dagster-asset-definition.png": "/assets/raw_police/incidents",
    "dagster-runs-rejected.png": "/runs?q%5B0%5D=tag%3Ajigsaw%2Frejected%3Dtrue",
}


def main() -> None:
    from playwright.sync_api import sync_playwright

    url = database.with_database(database.test_server_url(), f"jigsaw_shots_{uuid.uuid4().hex[:8]}")
    database.ensure_database(url)
    try:
        with tempfile.TemporaryDirectory() as folder:
            environment = load_region(Path(folder), url)
            with (
                dagster_ui(environment, Path(folder) / "ui.log") as base,
                sync_playwright() as playwright,
            ):
                browser = playwright.chromium.launch(
                    executable_path=chromium_path(), args=CHROMIUM_ARGS
                )
                page = browser.new_page(base_url=base, viewport={"width": 1500, "height": 950})
                for name, path in SHOTS.items():
                    open_page(page, path)
                    page.wait_for_timeout(6000)
                    page.screenshot(path=str(IMAGES / name))
                    print(f"wrote {IMAGES / name}")
                browser.close()
    finally:
        database.drop_database(url)


if __name__ == "__main__":
    main()
