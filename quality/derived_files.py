"""The files that only repeat a source spec, written from it and checked in CI.

A body's spec (``ingestion/specs/<body>/<body>.yml``) owns its extracts: columns, types, keys,
allowed values, privacy, and its sharing agreement. Three kinds of file must repeat parts of it
for tools that cannot read the spec (dbt, Soda); this module writes them, so none is edited by
hand where it only repeats:

- ``dbt_project/models/staging/<body>/_<body>__sources.yml``: the dbt source of ``raw_<body>``,
  its meta (owner, agreement, permitted purposes: the catalogue and the compile-time purpose
  check read it) and each raw table's columns as the loader creates them. Wholly generated.
- ``dbt_project/macros/agreements/<body>.sql``: the sharing agreement's reference and permitted
  purposes as a macro, which dbt reads while it parses to choose the bodies a purpose-limited
  union reads. Wholly generated.
- ``quality/contracts/raw/<body>/<entity>.yml``: the raw gate (schema, one row per key and
  period, the row-count change against the previous delivery, per column its type, ``missing``
  for a non-nullable column and ``invalid`` for allowed values). Checks added by hand, on the
  table or on a column, are kept where they are.
- ``dbt_project/models/staging/<body>/_<body>__models.yml``: the lineage columns each staging
  model starts with, and their descriptions. The rest (the body's own columns, their
  descriptions and tests) is written by hand and kept.
- ``quality/contracts/staging/<model>.yml``: the staging gate's columns, as the staging model's
  YAML (``_<folder>__models.yml``) lists them. Checks added by hand are kept.

They are committed rather than built on the fly, so dbt, Soda and a reviewer read them as they
are (a spec change shows in review with its consequences). ``python -m quality.derived_files``
writes them; ``--check`` (run by ``make lint``) writes
nothing and fails, naming each file and showing the difference, when a committed file is not
what the spec implies. The staging SQL and the rest of the staging model YAML stay
hand-written: they rename, type and describe, which the spec does not say.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingestion.raw_tables import LINEAGE_COLUMNS, LINEAGE_VIEW_COLUMNS, lineage_view, raw_columns
from ingestion.spec import Column, Entity, SourceSpec, load_specs
from jigsaw import schemas
from jigsaw.paths import REPO_ROOT, contracts_dir, dbt_project_dir
from jigsaw.yamlfile import read_yaml

GENERATOR = "python -m quality.derived_files"

# What each lineage column holds: on a raw row (the loader's LINEAGE_COLUMNS say its type) or
# in its lineage view, which dbt reads (LINEAGE_VIEW_COLUMNS).
LINEAGE_DESCRIPTIONS = {
    "_delivery_key": "The delivery the row came in: joins ingestion.deliveries.delivery_key.",
    "_delivery_id": "The delivery the row came in (<body>/<delivery date>/<file>).",
    "_period": "The month (YYYY-MM) the delivery covers.",
    "_file_sha256": "SHA-256 of the delivered file.",
    "_source_row_number": "1-based data row (or record) number in the delivered file.",
    "_loaded_at": "When the row was loaded into raw.",
}
# The raw gate's one lineage column that must be filled: the period the replacement and the
# row-count comparison key on.
LINEAGE_REQUIRED = {"_period"}
# PostgreSQL's name (information_schema.columns.data_type) for each type the loader declares.
POSTGRES_TYPE_NAMES = {
    "text": "text",
    "integer": "integer",
    "bigint": "bigint",
    "numeric": "numeric",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
}
# Below this many rows in the previous period a change in rows is chance, not a broken extract.
ROW_COUNT_MIN_PREVIOUS = 20
NHS_VALIDITY_SUFFIX = "_is_valid"  # raw_tables.raw_columns adds <nhs column>_is_valid
PRIVACY_NOTES = {
    "token": "Pseudonymised at load: keyed hash (HMAC-SHA256) of the normalised value.",
    "year": "Only the year is kept.",
}
HEADER_WIDTH = 100


@dataclass(frozen=True)
class DerivedFile:
    path: Path
    text: str


def _flow(values: list[str]) -> str:
    return json.dumps(values)


def _block(document: object, indent: int) -> str:
    """A hand-written check, dumped as YAML and indented to its place in the file."""
    dumped = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=HEADER_WIDTH)
    return textwrap.indent(dumped, " " * indent)


def _header(lines: list[str], width: int = HEADER_WIDTH) -> str:
    """YAML comment lines, wrapped."""
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, width - 2) or [""]
    return "".join(f"# {line}\n" for line in wrapped)


def _repo_relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _spec_path(spec: SourceSpec) -> str:
    return f"ingestion/specs/{spec.body}/{spec.body}.yml"


def _committed(path: Path) -> dict:
    if not path.exists():
        return {}
    document = read_yaml(path)
    return document if isinstance(document, dict) else {}


def _hand_written_checks(generated: list, committed: list | None) -> list:
    """The checks of a committed list that the generator does not write: added by hand."""
    return [check for check in committed or [] if check not in generated]


# --- dbt sources ---------------------------------------------------------------------------


def _lineage_types() -> list[tuple[str, str]]:
    return [(name, ddl.split()[0]) for name, ddl in LINEAGE_COLUMNS]


def _stored_columns(entity: Entity) -> list[tuple[str, str, str, Column | None]]:
    """(name, type, description, spec column) of each delivered column as raw stores it
    (``raw_tables.raw_columns`` says which), with the spec column it comes from; None for a
    column the loader computes (an NHS number's validity)."""
    by_raw_name = {c.raw_name: c for c in entity.columns if c.raw_name}
    stored = []
    for name, kind in raw_columns(entity):
        column = by_raw_name.get(name)
        if column is not None:
            note = PRIVACY_NOTES.get(column.privacy)
            description = f"{column.description} {note}" if note else column.description
        elif name.endswith(NHS_VALIDITY_SUFFIX):
            checked = name.removesuffix(NHS_VALIDITY_SUFFIX)
            description = (
                f"Whether the delivered {checked} passed the NHS number modulus-11 check "
                "(computed at load)."
            )
        else:
            raise ValueError(f"raw column {entity.name}.{name}: no spec column describes it")
        stored.append((name, kind, description, column))
    return stored


def sources_document(spec: SourceSpec) -> dict:
    agreement = spec.sharing_agreement
    return {
        "version": 2,
        "sources": [
            {
                "name": spec.raw_schema,
                "description": f"{spec.title}: extracts as loaded into raw (one table per entity).",
                "schema": spec.raw_schema,
                "meta": {
                    "body": spec.body,
                    "owner": spec.owner,
                    "sharing_agreement": agreement.reference,
                    "permitted_purposes": list(agreement.permitted_purposes),
                    "lawful_basis": agreement.lawful_basis,
                    "retention_months": agreement.retention_months,
                },
                "tables": [
                    {
                        "name": entity.name,
                        "identifier": lineage_view(entity.name),
                        "description": entity.description,
                        "columns": [
                            {"name": name, "description": LINEAGE_DESCRIPTIONS[name]}
                            for name, _ in LINEAGE_VIEW_COLUMNS
                        ]
                        + [
                            {"name": name, "description": description}
                            for name, _, description, _ in _stored_columns(entity)
                        ],
                    }
                    for entity in spec.entities
                ],
            }
        ],
    }


def sources_file(spec: SourceSpec, dbt_dir: Path) -> DerivedFile:
    path = dbt_dir / "models" / "staging" / spec.body / f"_{spec.body}__sources.yml"
    header = _header([f"Generated by {GENERATOR} from {_spec_path(spec)}; do not edit."])
    body = yaml.safe_dump(
        sources_document(spec), sort_keys=False, allow_unicode=True, width=HEADER_WIDTH
    )
    return DerivedFile(path, header + body)


def agreement_file(spec: SourceSpec, dbt_dir: Path) -> DerivedFile:
    """The sharing agreement as a dbt macro, ``agreement__<body>()``: dbt must know a body's
    permitted purposes while it parses (the purpose-limited unions choose their refs then), when
    the source meta is not yet readable."""
    path = dbt_dir / "macros" / "agreements" / f"{spec.body}.sql"
    agreement = {
        "reference": spec.sharing_agreement.reference,
        "permitted_purposes": list(spec.sharing_agreement.permitted_purposes),
    }
    comment = textwrap.wrap(
        f"Generated by {GENERATOR} from {_spec_path(spec)}; do not edit. The sharing agreement"
        f" of {spec.body}, read by macro sharing_agreements (macros/person_records.sql).",
        HEADER_WIDTH - 4,
    )
    text = "{#- " + "\n    ".join(comment) + " -#}\n"
    text += f"{{% macro agreement__{spec.body}() -%}}\n"
    text += f"    {{{{ return({json.dumps(agreement)}) }}}}\n"
    text += "{%- endmacro %}\n"
    return DerivedFile(path, text)


# --- raw contracts -------------------------------------------------------------------------

ROW_COUNT_QUERY = """\
with periods as (
    select distinct _period as period from {table}
    union
    select period from {ledger}
    where body = '{body}' and entity = '{entity}' and status = 'loaded'
),
per_period as (
    select p.period, count(r._period) as n
    from periods as p left join {table} as r on r._period = p.period
    group by p.period
),
emptied as (
    select period from {ledger}
    where body = '{body}' and entity = '{entity}' and status in ('loaded', 'superseded')
        and rows_loaded > 0
),
compared as (
    select n, lag(n) over (order by period) as previous,
        period = max(period) over () as is_latest,
        n = 0 and period in (select period from emptied) as was_emptied
    from per_period
)
select coalesce(max(abs(n - previous)::numeric / previous), 0)
from compared where previous >= {min_previous} and (is_latest or was_emptied)
"""

ROW_COUNT_EXPLAINED = _header(
    [
        "Relative change in rows between the two most recent periods; 0 with one period, or"
        f" when the previous period had under {ROW_COUNT_MIN_PREVIOUS} rows (small counts swing"
        " by chance). A period the ledger says is loaded but that has no rows (emptied by a"
        " re-delivery) counts as 0 rows and is compared with the period before it, wherever it"
        " lies; a period delivered with no rows (a header only: nothing to report, e.g. August's"
        " school census) is not emptied and is not compared unless it is the latest."
    ],
    width=90,
)


@dataclass(frozen=True)
class _RawColumn:
    name: str
    data_type: str
    required: bool
    valid_values: list[str] | None


def _raw_columns(entity: Entity) -> list[_RawColumn]:
    lineage = [
        _RawColumn(name, POSTGRES_TYPE_NAMES[kind], name in LINEAGE_REQUIRED, None)
        for name, kind in _lineage_types()
    ]
    return lineage + [
        _RawColumn(
            name,
            POSTGRES_TYPE_NAMES[kind],
            column is not None and not column.nullable,
            column.allowed_values if column is not None and column.privacy == "clear" else None,
        )
        for name, kind, _, column in _stored_columns(entity)
    ]


def _raw_column_checks(column: _RawColumn) -> list:
    checks: list = []
    if column.required:
        checks.append({"missing": None})
    if column.valid_values:
        checks.append({"invalid": {"valid_values": column.valid_values}})
    return checks


def raw_contract_file(spec: SourceSpec, entity: Entity, contracts: Path) -> DerivedFile:
    path = contracts / "raw" / spec.body / f"{entity.name}.yml"
    committed = _committed(path)
    table = f"{spec.raw_schema}.{entity.name}"
    key = [*(entity.column(name).raw_name for name in entity.primary_key), "_period"]
    tolerance = entity.row_count_tolerance
    query = ROW_COUNT_QUERY.format(
        table=table,
        ledger=f"{schemas.INGESTION}.deliveries",
        body=spec.body,
        entity=entity.name,
        min_previous=ROW_COUNT_MIN_PREVIOUS,
    )
    row_count_name = (
        f"Latest delivery's row count within {tolerance:.0%} of the previous delivery's, "
        "no period emptied"
    )
    generated_checks = [
        {"schema": None},
        {"row_count": None},
        {"duplicate": {"name": f"One current row per primary key and period ({', '.join(key)})",
                       "columns": key}},
        {"metric": {"name": row_count_name, "query": query,
                    "threshold": {"must_be_less_than_or_equal": tolerance}}},
    ]  # fmt: skip
    text = _header(
        [
            f"Raw gate for {table}: {entity.description}",
            f"Generated by {GENERATOR} from {_spec_path(spec)}; checks added by hand are kept.",
            "Blocking: a failure here stops staging, core and marts built on this table.",
        ]
    )
    text += f"dataset: jigsaw/${{var.database}}/{spec.raw_schema}/{entity.name}\n"
    text += "variables:\n  database:\n    type: string\n"
    text += f"check_attributes:\n  layer: raw\n  body: {spec.body}\n"
    text += "checks:\n  - schema:\n  - row_count:\n"
    text += f"  - duplicate:\n      name: {generated_checks[2]['duplicate']['name']}\n"
    text += f"      columns: {_flow(key)}\n"
    text += f"  - metric:\n      name: {row_count_name}\n"
    text += textwrap.indent(ROW_COUNT_EXPLAINED, " " * 6)
    text += "      query: |\n" + textwrap.indent(query, " " * 8)
    text += f"      threshold:\n        must_be_less_than_or_equal: {tolerance}\n"
    for check in _hand_written_checks(generated_checks, committed.get("checks")):
        text += _block([check], 2)
    text += "columns:\n"
    committed_columns = {c.get("name"): c for c in committed.get("columns") or []}
    for column in _raw_columns(entity):
        text += f"  - name: {column.name}\n    data_type: {column.data_type}\n"
        generated = _raw_column_checks(column)
        extra = _hand_written_checks(
            generated, committed_columns.get(column.name, {}).get("checks")
        )
        if generated or extra:
            text += "    checks:\n"
        if column.required:
            text += "      - missing:\n"
        if column.valid_values:
            text += f"      - invalid:\n          valid_values: {_flow(column.valid_values)}\n"
        for check in extra:
            text += _block([check], 6)
    return DerivedFile(path, text)


# --- staging models and contracts ----------------------------------------------------------

# The lineage columns every body's staging model starts with (macro staging_lineage_columns in
# macros/standardise.sql, in its order), and what each holds.
STAGING_LINEAGE = {
    "delivery_id": (
        "The delivery the row came in (<body>/<delivery date>/<file>); raw _delivery_id."
    ),
    "source_period": "The month (YYYY-MM) the delivery covers; raw _period.",
    "period_start": "First day of the delivery period.",
    "source_row_number": (
        "1-based row (or record) number in the delivered file; raw _source_row_number."
    ),
    "loaded_at": "When the row was loaded into raw; raw _loaded_at.",
}
BODY_COLUMN_DESCRIPTION = "The public body the record comes from (the source spec's body name)."
STAGING_MODELS_HEADER = _header(
    [
        f"The lineage columns ({', '.join(STAGING_LINEAGE)}) and the body column's description"
        f" are written by {GENERATOR}; the rest is written by hand."
    ]
)


def _with_lineage(model: dict) -> dict:
    """A body's staging model with the lineage columns first, described in one voice; any test
    added to one of them is kept."""
    columns = model.get("columns") or []
    by_name = {column["name"]: column for column in columns}
    lineage = [
        {**by_name.get(name, {}), "name": name, "description": description}
        for name, description in STAGING_LINEAGE.items()
    ]
    rest = [
        {**column, "description": BODY_COLUMN_DESCRIPTION} if column["name"] == "body" else column
        for column in columns
        if column["name"] not in STAGING_LINEAGE
    ]
    return {**model, "columns": lineage + rest}


def staging_models_file(models_file: Path, document: dict) -> DerivedFile:
    models = [_with_lineage(model) for model in document.get("models") or []]
    dumped = yaml.safe_dump(
        {**document, "models": models}, sort_keys=False, allow_unicode=True, width=HEADER_WIDTH
    )
    return DerivedFile(models_file, STAGING_MODELS_HEADER + dumped)


def staging_contract_file(
    models_file: Path, model: dict, dbt_dir: Path, contracts: Path
) -> DerivedFile:
    name = model["name"]
    path = contracts / "staging" / f"{name}.yml"
    committed = _committed(path)
    description = " ".join(str(model.get("description") or "").split())
    source = Path(dbt_dir.name) / models_file.relative_to(dbt_dir)  # the same in any copy
    text = _header(
        [
            f"Staging gate for {schemas.STAGING}.{name}: {description}",
            f"Generated by {GENERATOR} from {source}; checks added by hand"
            " are kept. Keys, relationships and accepted values are tested by dbt; this contract"
            " covers the schema, the row count and value ranges.",
        ]
    )
    text += f"dataset: jigsaw/${{var.database}}/{schemas.STAGING}/{name}\n"
    text += "variables:\n  database:\n    type: string\n"
    text += "check_attributes:\n  layer: staging\n"
    text += "checks:\n  - schema:\n  - row_count:\n"
    generated_checks = [{"schema": None}, {"row_count": None}]
    for check in _hand_written_checks(generated_checks, committed.get("checks")):
        text += _block([check], 2)
    text += "columns:\n"
    committed_columns = {c.get("name"): c for c in committed.get("columns") or []}
    for column in model.get("columns") or []:
        text += f"  - name: {column['name']}\n"
        extra = committed_columns.get(column["name"], {}).get("checks") or []
        if extra:
            text += "    checks:\n"
        for check in extra:
            text += _block([check], 6)
    return DerivedFile(path, text)


# --- all of them ---------------------------------------------------------------------------


def derived_files(
    specs: list[SourceSpec] | None = None,
    dbt_dir: Path | None = None,
    contracts: Path | None = None,
) -> list[DerivedFile]:
    """Every file the specs (and the staging models' YAML) imply, as it should read."""
    specs = load_specs() if specs is None else specs
    dbt_dir = dbt_dir or dbt_project_dir()
    contracts = contracts or contracts_dir()
    files = []
    for spec in specs:
        files.append(sources_file(spec, dbt_dir))
        files.append(agreement_file(spec, dbt_dir))
        files += [raw_contract_file(spec, entity, contracts) for entity in spec.entities]
    bodies = {spec.body for spec in specs}
    for models_file in sorted((dbt_dir / "models" / "staging").glob("*/_*__models.yml")):
        document = read_yaml(models_file) or {}
        is_a_body = models_file.parent.name in bodies
        if is_a_body:
            derived = staging_models_file(models_file, document)
            files.append(derived)
            document = yaml.safe_load(derived.text)
        # A body's staging models are gated from their first day; another staging model
        # (linkage's, quality's) is kept in line once a contract for it exists.
        files += [
            staging_contract_file(models_file, model, dbt_dir, contracts)
            for model in document.get("models") or []
            if is_a_body or (contracts / "staging" / f"{model['name']}.yml").exists()
        ]
    return files


def differences(files: list[DerivedFile]) -> list[str]:
    """A unified diff per file whose committed text is not the derived one (or is missing)."""
    found = []
    for derived in files:
        name = _repo_relative(derived.path)
        if not derived.path.exists():
            found.append(f"{name}: missing (the spec implies it)")
            continue
        committed = derived.path.read_text(encoding="utf-8")
        if committed != derived.text:
            diff = difflib.unified_diff(
                committed.splitlines(keepends=True),
                derived.text.splitlines(keepends=True),
                fromfile=f"{name} (committed)",
                tofile=f"{name} (from the spec)",
            )
            found.append("".join(diff))
    return found


def write(files: list[DerivedFile]) -> list[Path]:
    written = []
    for derived in files:
        if derived.path.exists() and derived.path.read_text(encoding="utf-8") == derived.text:
            continue
        derived.path.parent.mkdir(parents=True, exist_ok=True)
        derived.path.write_text(derived.text, encoding="utf-8")
        written.append(derived.path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail, showing each difference, if a committed file disagrees",
    )
    arguments = parser.parse_args(argv)
    files = derived_files()
    if arguments.check:
        found = differences(files)
        for difference in found:
            print(difference, file=sys.stderr)
        if found:
            print(
                f"{len(found)} of {len(files)} files differ from what the specs imply; "
                f"run `{GENERATOR}` to write them",
                file=sys.stderr,
            )
            return 1
        print(f"{len(files)} files agree with the specs")
        return 0
    for path in write(files):
        print(f"wrote {_repo_relative(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
