"""Each delivered row takes its own person record's property, also when its person reference
carries several records in one delivery (identity holds each record once): the real loader,
address matching and dbt on one small police delivery."""

from __future__ import annotations

import psycopg

from ingestion.folder_load import prepare_database
from ingestion.landing import delivery_for
from ingestion.loader import load_delivery
from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE, Pseudonymiser
from ingestion.spec import load_specs
from linkage.addresses import run_address_matching
from linkage.store import LINKAGE_DDL
from tests.dbt.conftest import run_dbt
from tests.dbt.region import Loader, gazetteer_row
from tests.ingestion import deliveries as d

HOMES = {"1 High Street, Townley": "100000000011", "9 New Road, Townley": "100000000019"}


def test_each_row_of_a_reference_with_two_records_takes_its_own_records_property(
    fresh_database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv(KEY_VARIABLE, DEMO_KEY)
    # NOM00001 moves house within the month: two records, their rows interleaved (none gives
    # a UPRN of its own); NOM00005 has one record.
    moved = ["1 High Street, Townley", "9 New Road, Townley"] * 2
    rows = [d.police_row(i, NOMINAL_ID="NOM00001", ADDRESS=a) for i, a in enumerate(moved, 1)]
    rows.append(d.police_row(5, ADDRESS="1 High Street, Townley"))
    path = d.police_file(tmp_path / "landing", "2026-02-03", "2026-01", rows)
    specs = load_specs()
    police = next(spec for spec in specs if spec.body == "police")
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        prepare_database(conn, specs)
        result = load_delivery(conn, police, delivery_for(police, path), Pseudonymiser())
        assert result.status == "loaded"
        conn.execute(LINKAGE_DDL)
        for address, uprn in HOMES.items():
            street = address.split(",")[0]
            place = gazetteer_row(uprn, "E01000001", 1000, 1000)
            place.update(address_line=street, town="Townley", postcode="AB1 2CD")
            Loader(conn).insert("reference", "gazetteer", "2026-01", **place)
    run_address_matching(fresh_database_url)

    run = run_dbt(
        fresh_database_url, tmp_path / "target", "run", "--select", "+int_person_records_keyed"
    )
    assert run.returncode == 0, run.output[-6000:]
    with psycopg.connect(fresh_database_url) as conn:
        built = conn.execute(
            "select source_row_number, uprn, uprn_method from intermediate.int_person_records_keyed"
            " where body = 'police' order by source_row_number"
        ).fetchall()
    own = [(i, HOMES[r[6]], "linkage") for i, r in enumerate(rows, 1)]
    assert built == own
