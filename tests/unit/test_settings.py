"""One owner for the settings `make demo`, `make ui` and `make docs` share
(orchestration/cli/settings.py): the UI gets the demo key for the demo's database only, and every
setting is documented."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from orchestration.cli import settings
from orchestration.cli.commands import ui_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def environment(fresh_database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("JIGSAW_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    for name in ("JIGSAW_DB_HOST", "JIGSAW_DB_PORT", "JIGSAW_DB_USER", "JIGSAW_DB_NAME"):
        monkeypatch.delenv(name, raising=False)
    return fresh_database_url


def test_ui_on_a_database_the_demo_did_not_build_gets_no_demo_key(environment, monkeypatch):
    url = settings.prepare_environment(announce=False)
    assert url == environment
    assert KEY_VARIABLE not in os.environ
    assert not settings.is_demo_database(url)


def test_ui_after_the_demo_gets_its_database_home_and_key(environment, tmp_path):

    settings.prepare_environment(demo=True, announce=False)  # what `make demo` does first
    assert os.environ[KEY_VARIABLE] == DEMO_KEY
    assert settings.is_demo_database(environment)

    del os.environ[KEY_VARIABLE]  # a new shell: `make ui`
    url = settings.prepare_environment(announce=False)
    assert url == environment
    assert os.environ[KEY_VARIABLE] == DEMO_KEY
    assert os.environ["DAGSTER_HOME"] == str(tmp_path / "dagster_home")
    assert (tmp_path / "dagster_home" / "dagster.yaml").exists()
    assert os.environ["JIGSAW_DB_NAME"] == url.rsplit("/", 1)[-1]  # for dbt's profiles.yml


def test_a_key_from_the_environment_always_wins(environment, monkeypatch):

    monkeypatch.setenv(KEY_VARIABLE, "from-the-secret-store")
    settings.prepare_environment(demo=True, announce=False)
    assert os.environ[KEY_VARIABLE] == "from-the-secret-store"


def test_the_ui_serves_the_projects_workspace():
    command = ui_command("127.0.0.1", 3999)
    assert command[1:3] == ["dev", "-w"] and command[3].endswith("workspace.yaml")
    assert command[-4:] == ["-h", "127.0.0.1", "-p", "3999"]


def test_every_setting_is_in_env_example_and_the_readme():
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in settings.SETTINGS:
        assert re.search(rf"^# {name}=", example, re.M), f"{name} not in .env.example"
        assert name in readme, f"{name} not in README.md"
