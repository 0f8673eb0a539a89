"""Incremental models follow what the ledger says is current for each period: a period left
with no rows (an approved re-delivery that emptied it) leaves ``fct_service_contact`` on the next
incremental build, and the result equals a full refresh.

It empties a police period, so it works on a region of its own.
"""

from __future__ import annotations

from tests.dbt.conftest import DbtRun, own_region_fixture, run_dbt

dbt_region = own_region_fixture()


def contacts(db) -> list[tuple]:
    return sorted(db.execute("select * from core.fct_service_contact").fetchall(), key=repr)


def test_an_emptied_period_leaves_the_incremental_fact_as_a_full_refresh_would(
    dbt_build: DbtRun, region_database: str, db, tmp_path
):
    slice_rows = "select count(*) from core.fct_service_contact where source_entity = 'incidents'"
    slice_rows += " and source_period = '2026-03'"
    assert db.execute(slice_rows).fetchone()[0] > 0
    # What the loader does when an operator approves a header-only re-delivery of 2026-03.
    db.execute("delete from raw_police.incidents where _period = '2026-03'")
    db.commit()
    run = run_dbt(
        region_database, tmp_path / "incremental", "build", "--select", "fct_service_contact"
    )
    assert run.returncode == 0, run.output[-6000:]  # relationships tests included
    assert db.execute(slice_rows).fetchone()[0] == 0
    incremental = contacts(db)
    db.commit()
    refresh = run_dbt(
        region_database,
        tmp_path / "full",
        "run",
        "--full-refresh",
        "--select",
        "fct_service_contact",
    )
    assert refresh.returncode == 0, refresh.output[-6000:]
    assert contacts(db) == incremental
