"""Ingestion definitions for every body with a source spec (ingestion/specs/<body>/<body>.yml).

An invalid spec fails loading here with an error naming the file and the field.
"""

from ingestion.spec import load_specs
from orchestration.factories.ingestion_assets import build_ingestion_defs

defs = build_ingestion_defs(load_specs())
