"""Many identity records of one local person id to one linkage record.

A body sends the same client every month, sometimes with a corrected name or a new address;
identity holds each distinct combination of values once per delivery, with the delivered rows
that carried it. Each field takes its most frequent value across the records (weighted by
``count``: the delivered rows that carried it), ties going to the latest, so one typo in one
month does not outvote eleven clean months.
"""

from __future__ import annotations

import pandas as pd

from linkage.standardise import STANDARD_FIELDS, identifier_fields

KEYS = ["source", "record_id"]


def collapse(
    rows: pd.DataFrame, recency: str | None = None, count: str | None = None
) -> pd.DataFrame:
    """One row per (source, record_id).

    `recency` names a sortable column (later is more recent); `count` a column of row weights
    (rows already grouped in SQL), else each row counts once.
    """
    fields = [*STANDARD_FIELDS, *identifier_fields(rows.columns)]
    if rows.empty or not rows.duplicated(KEYS).any():
        return rows[KEYS + fields].reset_index(drop=True)  # one row per record already
    ordered = rows.sort_values(recency, ascending=False, kind="stable") if recency else rows
    ordered = ordered.reset_index(drop=True)
    ordered["_position"] = range(len(ordered))
    ordered["_weight"] = ordered[count] if count else 1
    result = ordered[KEYS].drop_duplicates().reset_index(drop=True)
    for field in fields:
        present = ordered.loc[ordered[field].notna(), [*KEYS, field, "_weight", "_position"]]
        if present.empty:
            result[field] = None
            continue
        present = present.assign(_value=present[field].astype(str))
        votes = present.groupby([*KEYS, "_value"], sort=False).agg(
            weight=("_weight", "sum"), position=("_position", "min"), value=(field, "first")
        )
        best = (
            votes.reset_index()
            .sort_values(["weight", "position"], ascending=[False, True], kind="stable")
            .drop_duplicates(KEYS)[[*KEYS, "value"]]
            .rename(columns={"value": field})
        )
        result = result.merge(best, on=KEYS, how="left")
    return result
