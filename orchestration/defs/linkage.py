"""Linkage assets: the regional person key, the property of each record, and their accuracy.

They read the clear identifiers in `identity` (written by every person-bearing ingestion
asset in the same load) and write only pseudonymous keys to the `linkage` schema.
"""

import dagster as dg

from ingestion.spec import load_specs
from jigsaw import schemas
from jigsaw.database import connect
from orchestration.resources import DATABASE, PostgresResource

LINKAGE_SCHEMA = dg.AssetKey(["linkage", "schema"])
PERSON_XREF = dg.AssetKey(["linkage", "person_xref"])
ADDRESS_XREF = dg.AssetKey(["linkage", "address_xref"])
PROPERTY_KEYS = dg.AssetKey(["linkage", "property_keys"])
EVALUATION = dg.AssetKey(["linkage", "evaluation"])
GAZETTEER = dg.AssetKey([schemas.raw_schema("reference"), "gazetteer"])

PERSON_SOURCES = [
    dg.AssetKey([spec.raw_schema, entity.name])
    for spec in load_specs()
    for entity in spec.entities
    if entity.has_person
]

# Every extract that holds a UPRN: each of its properties gets a keyed property key.
UPRN_SOURCES = [
    dg.AssetKey([spec.raw_schema, entity.name])
    for spec in load_specs()
    for entity in spec.entities
    if any(column.raw_name == "uprn" for column in entity.columns)
]


# The linkage steps write tables the others read; one at a time (dagster.yaml gives every pool
# one slot, see orchestration.instance), so the multiprocess executor never interleaves them.
POOL = "linkage"


def _metadata(stats: dict) -> dict:
    return {
        k: (dg.MetadataValue.float(round(v, 4)) if isinstance(v, float) else v)
        for k, v in stats.items()
        if isinstance(v, int | float | str | bool)
    }


@dg.asset(
    key=LINKAGE_SCHEMA,
    deps=PERSON_SOURCES,
    group_name="linkage",
    kinds={"postgres"},
    pool=POOL,
    description=(
        "The linkage schema's tables and the reviewers' view identity.clerical_review_details, "
        "created or updated once per build before any linkage step: DDL inside the steps held "
        "locks that deadlocked them under the multiprocess executor."
    ),
)
def linkage_schema(database: PostgresResource) -> dg.MaterializeResult:
    from linkage.store import ensure_schema

    with connect(database.resolved_url(), autocommit=True) as conn:
        ensure_schema(conn)
    return dg.MaterializeResult()


@dg.asset(
    key=PERSON_XREF,
    deps=[*PERSON_SOURCES, LINKAGE_SCHEMA],
    group_name="linkage",
    pool=POOL,
    kinds={"splink", "postgres"},
    description=(
        "One row per body's local person id: its stable regional person key, how it was "
        "linked (NHS number, splink, clerical decision) and the match probability. Uncertain "
        "pairs go to linkage.clerical_review; merges and splits to linkage.person_key_events."
    ),
)
def person_xref(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from linkage.pipeline import run_person_linkage

    stats = run_person_linkage(database.resolved_url())
    context.log.info(
        f"linked {stats['records']} records into {stats['clusters']} people; "
        f"{stats['review_pairs_open']} pairs open for clerical review"
    )
    return dg.MaterializeResult(metadata=_metadata(stats))


@dg.asset(
    key=ADDRESS_XREF,
    deps=[*PERSON_SOURCES, GAZETTEER, LINKAGE_SCHEMA],
    group_name="linkage",
    pool=POOL,
    kinds={"splink", "postgres"},
    description=(
        "The UPRN of every delivered person record: as the body gave it, else matched on "
        "address against the gazetteer (method given / address_match / unmatched)."
    ),
)
def address_xref(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from linkage.addresses import run_address_matching

    stats = run_address_matching(database.resolved_url())
    if not stats["gazetteer_loaded"]:
        context.log.warning("raw_reference.gazetteer is not loaded: no address could be matched")
    return dg.MaterializeResult(metadata=_metadata(stats))


@dg.asset(
    key=PROPERTY_KEYS,
    deps=[*UPRN_SOURCES, ADDRESS_XREF, LINKAGE_SCHEMA],
    group_name="linkage",
    pool=POOL,
    kinds={"python", "postgres"},
    description=(
        "The keyed pseudonymous key of every property the region holds (HMAC of the UPRN, "
        "domain 'uprn'): what marts carry for readers without an address purpose."
    ),
)
def property_keys(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from linkage.property_keys import run_property_keys

    stats = run_property_keys(database.resolved_url())
    context.log.info(f"{stats['new_properties']} new property keys, {stats['properties']} in all")
    return dg.MaterializeResult(metadata=_metadata(stats))


@dg.asset(
    key=EVALUATION,
    deps=[PERSON_XREF],
    group_name="linkage",
    kinds={"python"},
    description=(
        "Pairwise precision, recall and F1 of the person linkage (and the share of people "
        "found exactly) against the demo region's ground truth; says so when there is none."
    ),
)
def evaluation(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from linkage.ground_truth import evaluate_database

    report = evaluate_database(database.resolved_url())
    if not report["available"]:
        context.log.warning(f"linkage not evaluated: {report['reason']}")
    else:
        context.log.info(
            f"precision {report['precision']}, recall {report['recall']}, F1 {report['f1']}"
        )
    return dg.MaterializeResult(metadata=_metadata(report))


defs = dg.Definitions(
    assets=[linkage_schema, person_xref, address_xref, property_keys, evaluation],
    resources={"database": DATABASE},
)
