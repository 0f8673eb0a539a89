"""A small loaded region for the browser test: police deliveries for three periods (one of them
a rejected file) loaded through the project's own ingestion job into a Dagster home of its own,
and the Dagster UI (``dagster-webserver`` on the project's definitions) serving it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from jigsaw import database
from jigsaw.paths import REPO_ROOT
from orchestration.instance import write_instance_config
from tests.ingestion import deliveries as d

PERIOD_ROWS = {"2026-01": 3, "2026-02": 7}  # rows in each accepted delivery
REJECTED_PERIOD = "2026-03"
REJECTED_FILE = f"police/2026-04-03/incidents_{REJECTED_PERIOD}.csv"
UI_START_TIMEOUT = 240


def write_landing(landing: Path) -> None:
    d.police_file(landing, "2026-02-03", "2026-01", [d.police_row(i) for i in range(1, 4)])
    d.police_file(landing, "2026-03-03", "2026-02", [d.police_row(i) for i in range(10, 17)])
    (d.folder(landing, "police", "2026-04-03") / f"incidents_{REJECTED_PERIOD}.csv").write_bytes(
        b""
    )


def load_region(root: Path, database_url: str) -> dict[str, str]:
    """Loads the deliveries through the project's police ingestion job; returns the
    environment the UI must run with (the same database, landing and Dagster home)."""
    from orchestration.cli.landing_runs import materialize_landing

    landing = root / "landing"
    write_landing(landing)
    home = root / "dagster_home"
    write_instance_config(home)
    environment = {
        **database.connection_env(database_url),
        "DAGSTER_HOME": str(home),
        "JIGSAW_LANDING_DIR": str(landing),
        KEY_VARIABLE: DEMO_KEY,  # synthetic rows: the documented demo key
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        with dg.DagsterInstance.get() as instance:
            summary = materialize_landing(instance, landing_dir=landing)
        assert summary.all_succeeded, summary
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return environment


def free_port(candidates: range | None = None) -> int:
    """A free local port: any, or the first free one of ``candidates``."""
    for candidate in candidates or [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in {candidates}")


def webserver_command(host: str, port: int) -> list[str]:
    """The webserver alone on the project's definitions (no daemon: nothing runs by itself)."""
    return [
        str(Path(sys.executable).parent / "dagster-webserver"),
        "-m",
        "orchestration.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]


@contextmanager
def dagster_ui(
    environment: dict[str, str],
    log: Path,
    ports: range | None = None,
    command: Callable[[str, int], list[str]] = webserver_command,
) -> Iterator[str]:
    """The Dagster UI (``command(host, port)``: by default the webserver alone) on a free port
    (of ``ports`` when given); yields its URL."""
    port = free_port(ports)
    argv = command("127.0.0.1", port)
    with log.open("w") as output:
        process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + UI_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Dagster UI exited: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Dagster UI did not start: {log.read_text()[-3000:]}"
                    ) from None
                time.sleep(1)
        yield url
    finally:
        # SIGINT stops it cleanly (SIGTERM can leave its code server running).
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
