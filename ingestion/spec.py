"""The source spec: one YAML file per public body, describing each extract it delivers.

A spec is data, not code: adding a body means adding ``ingestion/specs/<body>/<body>.yml``
(plus dbt staging models and a Soda contract). Specs are validated when the Dagster
definitions load; an invalid one fails with an error naming the file and the field.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingestion.identity_fields import LINKAGE_ROLES
from jigsaw import schemas
from jigsaw.paths import specs_dir
from jigsaw.yamlfile import read_yaml

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*\Z")  # \Z: "$" would let a final newline in

ColumnType = Literal["text", "integer", "numeric", "boolean", "date", "timestamp"]

# What happens to a column's clear value on the way into raw_<body>:
#   clear  kept as delivered (not an identifier)
#   token  replaced by <name>_token, a keyed hash (HMAC-SHA256) of the normalised value
#   drop   not stored in raw at all (its clear value may still go to `identity` via `linkage`)
#   year   only the year is kept, as <name>_year (for dates of birth)
Privacy = Literal["clear", "token", "drop", "year"]

# A column with a linkage role is also copied in clear to the restricted
# identity.person_records table: the roles are ingestion.identity_fields' list.
LinkageRole = Literal[LINKAGE_ROLES]  # a tuple subscript: Literal["person_ref", ...]

Purpose = Literal[
    "safeguarding",
    "early_intervention",
    "service_planning",
    "public_health",
    "housing_condition",
    "financial_inclusion",
    "research",
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(StrictModel):
    name: str = Field(description="column name in raw_<body> (snake_case)")
    source: str | None = Field(
        default=None, description="header (CSV/XLSX) or dotted key path (JSON) in the file"
    )
    type: ColumnType = "text"
    format: str | None = Field(default=None, description="strptime format for date/timestamp")
    required: bool = Field(default=True, description="the file must have this column")
    nullable: bool = Field(default=True, description="an empty value is allowed")
    allowed_values: list[str] | None = None
    privacy: Privacy = "clear"
    linkage: LinkageRole | None = None
    token_domain: str | None = Field(
        default=None,
        description="values in the same domain get the same token; default <body>:<name>, "
        "and `nhs_number` for NHS numbers so tokens agree across bodies",
    )
    description: str

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"column name {value!r} must be snake_case (a-z, 0-9, _)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        if self.type in ("date", "timestamp") and not self.format:
            raise ValueError(f"column {self.name!r}: a {self.type} column needs a `format`")
        if self.privacy == "year" and self.type != "date":
            raise ValueError(f"column {self.name!r}: privacy `year` applies to dates only")
        if self.linkage and self.privacy == "clear" and self.linkage not in ("uprn", "sex"):
            raise ValueError(
                f"column {self.name!r} feeds linkage as {self.linkage!r}, a direct identifier: "
                "its privacy must be token, drop or year, not clear"
            )
        return self

    @property
    def source_name(self) -> str:
        return self.source or self.name

    @property
    def raw_name(self) -> str | None:
        """The column's name in raw_<body>, or None when it is not stored there."""
        return {
            "clear": self.name,
            "token": f"{self.name}_token",
            "drop": None,
            "year": f"{self.name}_year",
        }[self.privacy]

    @property
    def raw_type(self) -> str:
        if self.privacy == "token":
            return "text"
        if self.privacy == "year":
            return "integer"
        return {"timestamp": "timestamp", "numeric": "numeric"}.get(self.type, self.type)


class Dialect(StrictModel):
    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8"
    header: bool = True


class Entity(StrictModel):
    name: str = Field(description="table name in raw_<body>, plural snake_case")
    description: str
    format: Literal["csv", "xlsx", "json", "ndjson"]
    file_pattern: str = Field(
        description="file name in a delivery folder; {period} stands for YYYY-MM",
    )
    dialect: Dialect = Dialect()
    sheet: str | None = Field(default=None, description="XLSX: worksheet name")
    json_path: str | None = Field(
        default=None, description="JSON: dotted key of the array of records"
    )
    primary_key: list[str]
    row_count_tolerance: float = Field(
        default=0.5, description="allowed relative change in rows against the previous delivery"
    )
    delivery_every_months: int | None = Field(
        default=1,
        ge=1,
        description="a period is due every N months; null for data delivered on no schedule",
    )
    columns: list[Column]

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"entity name {value!r} must be snake_case")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Entity:
        names = [c.name for c in self.columns]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"entity {self.name!r}: duplicate columns {sorted(duplicated)}")
        for key in self.primary_key:
            if key not in names:
                raise ValueError(f"entity {self.name!r}: primary key {key!r} is not a column")
        if "{period}" not in self.file_pattern:
            raise ValueError(f"entity {self.name!r}: file_pattern must contain {{period}}")
        if self.format == "xlsx" and not self.sheet:
            raise ValueError(f"entity {self.name!r}: an xlsx entity needs `sheet`")
        if self.format == "json" and not self.json_path:
            raise ValueError(f"entity {self.name!r}: a json entity needs `json_path`")
        roles = [c.linkage for c in self.columns if c.linkage]
        if roles and "person_ref" not in roles:
            raise ValueError(
                f"entity {self.name!r}: columns feed linkage but none has linkage: person_ref"
            )
        return self

    def token_domain(self, body: str, column: Column) -> str:
        if column.token_domain:
            return column.token_domain
        if column.linkage == "nhs_number":
            return "nhs_number"
        return f"{body}:{column.name}"

    @property
    def person_ref_column(self) -> Column | None:
        return next((c for c in self.columns if c.linkage == "person_ref"), None)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def has_person(self) -> bool:
        return any(c.linkage == "person_ref" for c in self.columns)

    def file_regex(self) -> re.Pattern[str]:
        escaped = re.escape(self.file_pattern).replace(r"\{period\}", r"(?P<period>\d{4}-\d{2})")
        return re.compile(f"^{escaped}\\Z")


class SharingAgreement(StrictModel):
    reference: str
    permitted_purposes: list[Purpose]
    retention_months: int = Field(gt=0)
    lawful_basis: str


class SourceSpec(StrictModel):
    body: str
    title: str
    owner: str
    sharing_agreement: SharingAgreement
    entities: list[Entity]

    @field_validator("body")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"body {value!r} must be snake_case")
        return value

    @property
    def raw_schema(self) -> str:
        return schemas.raw_schema(self.body)

    @cached_property
    def entities_by_name(self) -> dict[str, Entity]:
        return {e.name: e for e in self.entities}


class SpecError(ValueError):
    """A source spec file that cannot be used; the message names the file and the field."""


def load_spec(path: Path) -> SourceSpec:
    try:
        document = read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read source spec: {exc}") from exc
    if not isinstance(document, dict):
        raise SpecError(f"{path}: a source spec must be a YAML mapping")
    try:
        spec = SourceSpec.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SpecError(f"{path}: invalid source spec: {problems}") from exc
    if spec.body != path.parent.name:
        raise SpecError(f"{path}: body {spec.body!r} must match its folder {path.parent.name!r}")
    return spec


def load_specs(directory: Path | None = None) -> list[SourceSpec]:
    """Every body's spec, sorted by body; fails on the first invalid file."""
    root = directory or specs_dir()
    paths = sorted(root.glob("*/*.yml"))
    if not paths:
        raise SpecError(f"{root}: no source specs found (expected <body>/<body>.yml)")
    return [load_spec(p) for p in paths]
