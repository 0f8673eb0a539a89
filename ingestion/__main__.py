"""``python -m ingestion``: the operator's command line (see ``ingestion.cli``)."""

import sys

from ingestion.cli import main

sys.exit(main())
