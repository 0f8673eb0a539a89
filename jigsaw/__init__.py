"""The shared basement of Jigsaw: where things live, which database is in use, the schema names.

Every floor above (ingestion, linkage, quality, analytics, orchestration) may import it; it
imports none of them (tests/unit/test_layering.py).
"""
