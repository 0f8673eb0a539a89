"""The demo's console progress: numbered, timed stages; the tools' own output sent to a log."""

from __future__ import annotations

import re

from orchestration.cli.progress import Stages, say, tools_output_to


def test_stages_are_numbered_and_timed(capfd):
    stages = Stages(total=2)
    with stages.stage("first"):
        pass
    with stages.stage("second"):
        pass
    lines = capfd.readouterr().out.splitlines()
    assert lines[0] == "jigsaw: [1/2] first"
    assert re.fullmatch(r"jigsaw: \[1/2\] first: done in \d+ s", lines[1])
    assert lines[2] == "jigsaw: [2/2] second"


def test_tool_output_goes_to_the_log_and_progress_to_the_console(tmp_path, capfd):
    log = tmp_path / "logs" / "build.log"
    with tools_output_to(log):
        print("1 of 200 START sql view model staging.stg_police__incidents")
        say("  regional build: 3 steps done, 15 s")
    console = capfd.readouterr().out
    assert "regional build: 3 steps done" in console
    assert "START sql view model" not in console
    assert "START sql view model" in log.read_text()
