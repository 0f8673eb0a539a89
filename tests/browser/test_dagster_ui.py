"""The Dagster UI in a real browser: headless Chromium (Debian's ``chromium`` package, driven by
Playwright with the system browser) against the UI serving a small loaded region.

It checks what an on-call person relies on: the asset graph renders, a delivery period's
partition shows its own row count, and a failed check shows its reason. Skipped, saying why,
only where no Chromium can be installed (``.ci/run`` installs it with apt-get).
"""

from __future__ import annotations

import shutil
import uuid

import pytest
from playwright.sync_api import sync_playwright  # in the dev extras: a missing one must fail

from jigsaw import database
from tests.browser.ui_region import (
    PERIOD_ROWS,
    REJECTED_FILE,
    REJECTED_PERIOD,
    dagster_ui,
    load_region,
)

pytestmark = pytest.mark.e2e

CHROMIUM_NAMES = ("chromium", "chromium-browser")
# Offline, in a container: no sandbox, no GPU, no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 60_000


def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no system Chromium: install Debian's `chromium` package (apt-get install chromium; "
        ".ci/run does this) to run the Dagster UI browser test"
    )


@pytest.fixture(scope="module")
def ui_url(server_url, tmp_path_factory, pytestconfig):
    executable = chromium_path()
    url = database.with_database(server_url, f"jigsaw_ui_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    root = tmp_path_factory.mktemp("ui")
    try:
        environment = load_region(root, url)
        with dagster_ui(environment, root / "dagster-webserver.log") as ui:
            yield ui, executable
    finally:
        database.drop_database(url)


@pytest.fixture(scope="module")
def browser(ui_url):
    _, executable = ui_url
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, ui_url):
    base, _ = ui_url
    context = browser.new_context(base_url=base, viewport={"width": 1500, "height": 950})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def open_page(page, path: str) -> None:
    page.goto(path)
    # The first visit offers a community sign-up dialog over the page.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # no dialog this time
        pass


def test_the_asset_graph_renders(page):
    open_page(page, "/asset-groups")
    page.get_by_text("Global asset lineage").wait_for()
    graph = page.locator("svg foreignObject")
    for group in ("police", "linkage", "staging", "core", "published"):
        graph.filter(has_text=group).first.wait_for()
    assert graph.count() >= 10


def test_each_partition_shows_its_own_row_count(page):
    for period, rows in PERIOD_ROWS.items():
        open_page(page, f"/assets/raw_police/incidents?view=partitions&partition={period}")
        row = page.locator("tr", has=page.locator("td", has_text="rows_loaded"))
        row.first.wait_for()
        assert row.first.locator("td").nth(1).inner_text().strip() == str(rows), period
        assert page.locator("tr", has_text="period").filter(has_text=period).count() >= 1


def test_a_failed_check_shows_its_reason(page):
    open_page(page, "/assets/raw_police/incidents?view=checks")
    page.get_by_text("deliveries_accepted").first.click()
    reason = page.get_by_text(f"{REJECTED_FILE} rejected: empty file")
    reason.first.wait_for()
    assert page.get_by_text("Failed").count() >= 1
    assert page.get_by_text(REJECTED_PERIOD).count() >= 1
