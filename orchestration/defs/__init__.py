"""One module per area; each exposes ``defs``. orchestration/definitions.py loads them all."""
