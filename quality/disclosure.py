"""Statistical disclosure control on aggregate marts: the one owner of its threshold and method.

dbt applies it (macros/marts.sql) with the values passed here as ``--vars`` by every dbt
invocation of the project (``dbt_vars_arguments``); the gates below check the built mart with
the same values; the docs quote them from here.

Primary suppression: no published count from 1 to THRESHOLD - 1 (a suppressed cell is NULL).
Secondary suppression: within a group whose total can be derived, a single suppressed cell can be
recovered by subtraction, so a group must have no suppressed cell or at least two.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from psycopg import Connection, sql

from quality.privacy import columns_of

THRESHOLD = 10
# Cell-key perturbation on top of the threshold (quality/perturbation.py): ONS's p-table that
# turns counts under 10 into 0 and rounds the others to base 5, so published counts are
# multiples of ROUNDING_BASE.
PTABLE = "ptable_10_5"
ROUNDING_BASE = 5


def dbt_vars() -> dict:
    """What dbt reads as ``var(...)``: dbt_project.yml holds no copy of them."""
    return {"disclosure_threshold": THRESHOLD}


def dbt_vars_arguments(extra: dict | None = None) -> list[str]:
    """``--vars`` for every dbt command of the project (parse, build, run, docs, show), with a
    run's own vars (``extra``, e.g. a delivery's slice) beside them."""
    return ["--vars", json.dumps({**dbt_vars(), **(extra or {})})]


COUNT_NAME = re.compile(r"^(n|count)_|_(count|n)$|^(count|people|persons|families|households)$")
INTEGER_TYPES = {"integer", "bigint", "smallint", "numeric"}


@dataclass(frozen=True)
class DisclosureFinding:
    column: str
    rule: str
    cells: int
    detail: str
    examples: tuple[dict, ...] = ()  # the groups (and values) at fault, for the UI

    def as_dict(self) -> dict:
        return {
            "column": self.column,
            "rule": self.rule,
            "cells": self.cells,
            "detail": self.detail,
            "examples": [{k: str(v) for k, v in e.items()} for e in self.examples],
        }


def count_columns(conn: Connection, schema: str, table: str) -> list[str]:
    """The counts subject to suppression when a mart does not list them in meta: those with a
    ``<count>_suppressed`` flag beside them, else integer columns named like counts."""
    columns = columns_of(conn, schema, table)
    names = {c for c, _ in columns}
    flagged = [c for c, _ in columns if f"{c}_suppressed" in names]
    if flagged:
        return flagged
    return [c for c, kind in columns if kind in INTEGER_TYPES and COUNT_NAME.search(c)]


def _rows(conn: Connection, query: sql.Composable, params: tuple = ()) -> tuple[dict, ...]:
    cursor = conn.execute(query, params)
    names = [d.name for d in cursor.description]
    return tuple(dict(zip(names, row, strict=True)) for row in cursor.fetchall())


def check_disclosure(
    conn: Connection,
    schema: str,
    table: str,
    counts: list[str] | None = None,
    groups: list[str] | None = None,
    threshold: int = THRESHOLD,
    rounding_base: int | None = ROUNDING_BASE,
) -> list[DisclosureFinding]:
    """Every way the published counts break disclosure control; empty when none does.

    ``rounding_base``: the p-table rounds every published count to it, so a count that is not
    a multiple of it was not perturbed.
    """
    relation = sql.Identifier(schema, table)
    counts = counts if counts is not None else count_columns(conn, schema, table)
    if not counts:
        return [DisclosureFinding("", "no count columns", 0, "declare meta.disclosure_counts")]
    findings = []
    for column in counts:
        col = sql.Identifier(column)
        small = conn.execute(
            sql.SQL("select count(*) from {t} where {c} > 0 and {c} < %s").format(
                t=relation, c=col
            ),
            (threshold,),
        ).fetchone()[0]
        if small:
            shown = sql.SQL(", ").join(sql.Identifier(c) for c in [*(groups or []), column])
            examples = _rows(
                conn,
                sql.SQL("select {s} from {t} where {c} > 0 and {c} < %s limit 5").format(
                    s=shown, t=relation, c=col
                ),
                (threshold,),
            )
            findings.append(
                DisclosureFinding(
                    column,
                    "primary suppression",
                    small,
                    f"{small} cells hold a count between 1 and {threshold - 1}",
                    examples,
                )
            )
        if rounding_base:
            unrounded = conn.execute(
                sql.SQL("select count(*) from {t} where {c} %% %s <> 0").format(t=relation, c=col),
                (rounding_base,),
            ).fetchone()[0]
            if unrounded:
                findings.append(
                    DisclosureFinding(
                        column,
                        "perturbation",
                        unrounded,
                        f"{unrounded} cells are not multiples of {rounding_base}: not perturbed "
                        f"with {PTABLE}",
                    )
                )
        group_by = sql.SQL(", ").join(sql.Identifier(g) for g in groups) if groups else None
        query = sql.SQL(
            "select {keys} from {t} {group} having count(*) filter (where {c} is null) = 1"
        ).format(
            keys=group_by if group_by else sql.SQL("count(*) as cells"),
            c=col,
            t=relation,
            group=sql.SQL("group by {}").format(group_by) if group_by else sql.SQL(""),
        )
        lone_groups = _rows(conn, query)
        lone = len(lone_groups)
        if lone:
            scope = f"groups by {', '.join(groups)}" if groups else "the table"
            findings.append(
                DisclosureFinding(
                    column,
                    "secondary suppression",
                    lone,
                    f"{lone} of {scope} have exactly one suppressed cell, recoverable from "
                    "the total",
                    tuple(lone_groups[:5]),
                )
            )
    return findings
