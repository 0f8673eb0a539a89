"""Every PostgreSQL schema Jigsaw writes, named once.

Python reads the names from here. dbt cannot import Python, so every dbt command of the project
gets them as vars (``DBT_VARS``, passed by ``quality.dbt_vars``): ``dbt_project.yml`` sets each
folder's ``+schema`` to ``{{ var('schema_<name>') }}`` (kept verbatim by
``macros/generate_schema_name.sql``) and the hand-written sources read ``linkage`` and
``quality`` the same way; the raw sources are generated from the specs with ``raw_schema``
(``quality/derived_files.py``). ``tests/unit/test_schemas.py`` holds the built manifest, and the
Soda contracts' dataset names (checked by ``quality/contract_files.py``), to this module.
"""

from __future__ import annotations

RAW_PREFIX = "raw_"  # one raw schema per body: raw_<body>
IDENTITY = "identity"  # clear identifiers for linkage; engineer and linkage roles only
INGESTION = "ingestion"  # the delivery ledger and quarantine
LINKAGE = "linkage"  # person and address cross-references
STAGING = "staging"
INTERMEDIATE = "intermediate"
CORE = "core"
MARTS_BUILD = "marts_build"  # dbt builds marts here; analysts cannot read it
MARTS = "marts"  # what analysts read: marts_build swapped in once its gates passed
QUALITY = "quality"  # gate history, publications, the perturbation table
ANALYTICS = "analytics"  # study estimates and model metrics
PRACTITIONER = "practitioner"  # purpose-limited lists, one reader role per purpose

# The schema of each dbt model folder (dbt_project.yml's ``+schema``).
DBT_FOLDER_SCHEMAS = {
    "staging": STAGING,
    "intermediate": INTERMEDIATE,
    "core": CORE,
    "marts": MARTS_BUILD,
}


# What dbt reads as var('schema_<name>'): the schemas its models are built in and its
# hand-written sources read.
DBT_VARS = {
    "schema_staging": STAGING,
    "schema_intermediate": INTERMEDIATE,
    "schema_core": CORE,
    "schema_marts_build": MARTS_BUILD,
    "schema_linkage": LINKAGE,
    "schema_quality": QUALITY,
}


def raw_schema(body: str) -> str:
    return f"{RAW_PREFIX}{body}"
