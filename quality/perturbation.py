"""Cell-key perturbation, the ONS method, with ONS's own ``cell-key-perturbation`` package.

Every person has a record key from 0 to 255, the same in every release (dbt's ``record_key``
macro derives it from the pseudonymous person key). A cell's key is the sum of the record keys
of the people counted in it, modulo 256; the perturbation of a cell is looked up in the
package's p-table by the cell's value and key, so the same cell perturbs the same way every
time it is published, and differencing two tables meets noise rather than a person.

The p-table is the package's ``ptable_10_5`` (counts under 10 become 0 and are suppressed,
the others are rounded to base 5); this module writes it to ``quality.perturbation_table`` for
dbt to apply, and ``perturbed_table`` runs the package itself on microdata: the tests compare
the two, cell for cell.
"""

from __future__ import annotations

import pandas as pd
from cell_key_perturbation.create_perturbed_table import create_perturbed_table
from cell_key_perturbation.utils.generate_test_ptable import generate_ptable_10_5_rule
from psycopg import Connection

from quality.disclosure import PTABLE, THRESHOLD

PTABLES = {"ptable_10_5": generate_ptable_10_5_rule}
TABLE = "quality.perturbation_table"
DDL = f"""
create schema if not exists quality;
create table if not exists {TABLE} (
    pcv integer not null,
    ckey integer not null,
    pvalue integer not null,
    primary key (pcv, ckey)
);
comment on table {TABLE} is 'The p-table of cell-key perturbation ({PTABLE}, from ONS''s
cell-key-perturbation package): the perturbation of a cell by its value (pcv) and cell key.';
"""


def ptable() -> pd.DataFrame:
    return PTABLES[PTABLE]()[["pcv", "ckey", "pvalue"]]


def write_perturbation_table(conn: Connection) -> dict:
    """(Re)write the p-table when it differs from what the table holds."""
    table = ptable()
    with conn.transaction():
        conn.execute(DDL)
        stored = conn.execute(
            f"select count(*), coalesce(sum(pvalue * (pcv + 7 * ckey)), 0) from {TABLE}"
        ).fetchone()
        wanted = (len(table), int((table.pvalue * (table.pcv + 7 * table.ckey)).sum()))
        if tuple(stored) != wanted:
            conn.execute(f"truncate {TABLE}")
            with (
                conn.cursor() as cursor,
                cursor.copy(f"copy {TABLE} (pcv, ckey, pvalue) from stdin") as copy,
            ):
                for row in table.itertuples(index=False):
                    copy.write_row((int(row.pcv), int(row.ckey), int(row.pvalue)))
    return {"ptable": PTABLE, "rows": len(table), "rewritten": tuple(stored) != wanted}


def perturbed_table(
    data: pd.DataFrame, geog: list[str], tab_vars: list[str], record_key: str
) -> pd.DataFrame:
    """The package's own frequency table with perturbation and the threshold applied."""
    return create_perturbed_table(
        data=data,
        ptable=ptable(),
        geog=geog,
        tab_vars=tab_vars,
        record_key=record_key,
        use_existing_ons_id=False,
        threshold=THRESHOLD,
    )
