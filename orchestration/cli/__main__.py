"""``python -m orchestration.cli``: the command line (``orchestration/cli/commands.py``)."""

import sys

from orchestration.cli.commands import main

sys.exit(main())
