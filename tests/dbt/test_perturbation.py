"""dbt's cell-key perturbation gives, cell for cell, what ONS's cell-key-perturbation package
gives on the same people; and a cell perturbs the same way in every release."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from quality.disclosure import THRESHOLD
from quality.perturbation import perturbed_table
from tests.dbt.conftest import run_dbt

# dbt's macros on a table of people: each person's record key, and each cell's perturbed count.
SHOW = """
with people as (
    select cell, person_key, {{ record_key('person_key') }} as record_key
    from public.perturbation_microdata
),
cells as (
    select cell, count(*)::integer as n, sum(record_key)::integer % 256 as cell_key,
        string_agg(person_key || ':' || record_key, ',') as record_keys
    from people group by cell
)
select cell, n, record_keys, {{ perturbed_count('n', 'cell_key') }} as perturbed from cells
"""


def _cells(seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    sizes = [rng.randint(1, 60) for _ in range(150)] + [9, 10, 11, 12, 13, 14, 760, 1003]
    return [(f"c{i:03d}", size) for i, size in enumerate(sizes)]


def _show(region_database: str, target, people: list[tuple[str, str]]) -> pd.DataFrame:
    """dbt's macros applied to ``people`` (cell, person key), as a frame of cells."""
    import psycopg

    with psycopg.connect(region_database) as conn:
        conn.execute("drop table if exists public.perturbation_microdata")
        conn.execute("create table public.perturbation_microdata (cell text, person_key text)")
        with conn.cursor().copy("copy public.perturbation_microdata from stdin") as copy:
            for row in people:
                copy.write_row(row)
    run = run_dbt(region_database, target, "show", "--inline", SHOW, "--limit", "-1",
                  "--output", "json", "--log-format", "json")  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    for line in run.output.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        preview = (event.get("data") or {}).get("preview")
        if preview:
            return pd.DataFrame(json.loads(preview))
    raise AssertionError(f"no preview in dbt show's output: {run.output[-3000:]}")


def _people(cells: list[tuple[str, int]]) -> list[tuple[str, str]]:
    return [(cell, f"{cell}-person-{i}") for cell, size in cells for i in range(size)]


@pytest.fixture(scope="module")
def dbt_perturbed(dbt_build, region_database, tmp_path_factory) -> pd.DataFrame:
    return _show(region_database, tmp_path_factory.mktemp("perturbation"), _people(_cells(7)))


def _record_keys(frame: pd.DataFrame) -> dict[str, int]:
    return {
        person: int(key)
        for keys in frame.record_keys
        for person, key in (pair.rsplit(":", 1) for pair in keys.split(","))
    }


def test_dbt_perturbs_each_cell_as_the_ons_package_does(dbt_perturbed):
    microdata = pd.DataFrame(
        [
            {"cell": row.cell, "record_key": int(pair.rsplit(":", 1)[1])}
            for row in dbt_perturbed.itertuples()
            for pair in row.record_keys.split(",")
        ]
    )
    assert microdata.record_key.between(0, 255).all()
    assert microdata.record_key.nunique() > 200  # spread over the whole range
    ons = perturbed_table(microdata, geog=[], tab_vars=["cell"], record_key="record_key")
    ons_counts = {r.cell: (None if pd.isna(r.count) else int(r.count)) for r in ons.itertuples()}
    ours = {
        r.cell: (None if r.perturbed < THRESHOLD else int(r.perturbed))
        for r in dbt_perturbed.itertuples()
    }
    assert len(ours) == len(_cells(7))
    assert ours == ons_counts
    # Perturbation changed some cells, and the large ones follow the package's wrap past 750.
    changed = dbt_perturbed[dbt_perturbed.perturbed != dbt_perturbed.n]
    assert len(changed) > 50
    assert all(v is None or v % 5 == 0 for v in ours.values())


def test_the_same_people_give_the_same_cell_key_in_every_release(
    dbt_perturbed, region_database, tmp_path
):
    """The next release: other people join, the rows come in another order; everyone keeps
    their record key, so an unchanged cell is perturbed exactly as before."""
    first = _people(_cells(7))
    joined = [(f"n{i:03d}", f"n{i:03d}-person-0") for i in range(40)]
    release = sorted(first + joined, key=lambda row: row[1][::-1])
    again = _show(region_database, tmp_path, release)
    before, after = _record_keys(dbt_perturbed), _record_keys(again)
    assert len(after) == len(before) + len(joined)
    assert {p: after[p] for p in before} == before
    unchanged = dbt_perturbed.set_index("cell").perturbed
    assert again.set_index("cell").perturbed.loc[unchanged.index].equals(unchanged)
