"""Who launched a pipeline run, and from where: tags on every run the project launches.

    jigsaw/launched_by    the operator (JIGSAW_OPERATOR, else the login name), or
                          ``sensor:<name>`` / ``schedule:<name>`` for automation
    jigsaw/launched_from  the host the run was launched on (for automation: the daemon's)
    jigsaw/launcher       what launched it (``make demo``, ``materialize_landing``, ...)

Dagster (open source) has no login of its own, so a run launched from the UI carries only the
tags the UI gives it; put the UI behind the organisation's authenticating proxy to know who.
"""

from __future__ import annotations

import getpass
import os
import socket

OPERATOR_VARIABLE = "JIGSAW_OPERATOR"


def operator() -> str:
    named = os.environ.get(OPERATOR_VARIABLE)
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (some containers)
        return f"uid:{os.getuid()}"


def launch_tags(launcher: str, launched_by: str | None = None) -> dict[str, str]:
    return {
        "jigsaw/launched_by": launched_by or operator(),
        "jigsaw/launched_from": socket.gethostname(),
        "jigsaw/launcher": launcher,
    }
