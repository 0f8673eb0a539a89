"""The raw Soda contracts match the raw DDL, pass on a good delivery and fail on a bad one."""

from __future__ import annotations

import psycopg

from ingestion.spec import load_specs
from jigsaw.paths import contracts_dir
from quality.contract_files import load_contracts
from quality.failing_rows import sample_failing_rows
from quality.soda_runner import verify_contract, verify_contracts
from tests.quality.conftest import insert_rows, police_rows

POLICE = contracts_dir() / "raw" / "police" / "incidents.yml"


def test_every_spec_entity_has_a_raw_contract():
    raw = {c.dataset for c in load_contracts() if c.layer == "raw"}
    expected = {f"{s.raw_schema}.{e.name}" for s in load_specs() for e in s.entities}
    assert expected == raw


def test_raw_contract_schemas_agree_with_the_raw_ddl(raw_database_url):
    contracts = [c for c in load_contracts() if c.layer == "raw"]
    results = verify_contracts([c.path for c in contracts], raw_database_url)
    for contract, result in zip(contracts, results, strict=True):
        assert not result.errors, (contract.path, result.errors)
        outcomes = {c.type: c.outcome for c in result.checks}
        assert outcomes["schema"] == "PASSED", (contract.path, result.summary())
        # The tables are empty: an empty delivery must not pass the gate.
        assert outcomes["row_count"] == "FAILED"
        assert not result.passed


def test_police_contract_passes_good_and_fails_bad_delivery(raw_database_url):
    with psycopg.connect(raw_database_url, autocommit=True) as conn:
        insert_rows(conn, "raw_police.incidents", police_rows("2026-01", 20))
        insert_rows(conn, "raw_police.incidents", police_rows("2026-02", 24))
        good = verify_contract(POLICE, raw_database_url)
        assert good.passed, good.summary()

        bad = police_rows("2026-03", 60)  # 60 rows after 24: outside the 50% tolerance
        bad[1]["incident_no"] = bad[0]["incident_no"]  # duplicate key
        bad[1]["nominal_id_token"] = bad[0]["nominal_id_token"]
        bad[2]["sex"] = "Q"  # not an allowed value
        bad[3]["incident_no"] = None  # missing key
        insert_rows(conn, "raw_police.incidents", bad)
    result = verify_contract(POLICE, raw_database_url)

    assert not result.passed
    failed = {(c.type, c.column) for c in result.failed_checks}
    assert failed == {
        ("duplicate", None),
        ("invalid", "sex"),
        ("missing", "incident_no"),
        ("metric", None),
    }
    by_type = {c.type: c for c in result.failed_checks}
    assert "invalid_count: 1" in by_type["invalid"].diagnostics
    assert by_type["metric"].value == 1.5  # (60 - 24) / 24

    with psycopg.connect(raw_database_url) as conn:
        samples = {
            c.type: sample_failing_rows(conn, POLICE, "raw_police", "incidents", c)
            for c in result.failed_checks
        }
    assert samples["duplicate"] == [
        {
            "incident_no": "INC00000",
            "nominal_id_token": "tok0",
            "_period": "2026-03",
            "copies": 2,
        }
    ]
    assert samples["missing"] == [
        {
            "_delivery_id": "police/2026-03-28/incidents_2026-03.csv",
            "_source_row_number": 4,
            "incident_no": None,
        }
    ]
    assert samples["metric"] == []  # a row count has no failing rows, only its diagnostics


def test_command_line_verifies_a_layer_and_fails_on_a_failed_contract(
    raw_database_url, use_database, capsys
):
    from quality.__main__ import main

    use_database(raw_database_url)
    with psycopg.connect(raw_database_url, autocommit=True) as conn:
        insert_rows(conn, "raw_police.incidents", police_rows("2026-01", 12))
    assert main(["raw"]) == 1  # the other raw tables are still empty
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len([c for c in load_contracts() if c.layer == "raw"])
    assert "ok    raw_police.incidents: 12 checks passed" in lines
    assert any(line.startswith("FAIL  raw_schools.attendance") for line in lines)


def test_the_row_count_gate_fails_when_a_loaded_period_became_empty(raw_database_url):
    with psycopg.connect(raw_database_url, autocommit=True) as conn:
        for period, rows in (("2026-01", 24), ("2026-02", 30), ("2026-03", 28)):
            insert_rows(conn, "raw_police.incidents", police_rows(period, rows))
            conn.execute(
                "insert into ingestion.deliveries (delivery_id, body, entity, period,"
                " delivery_date, file_name, file_sha256, bytes, status, rows_loaded)"
                " values (%s, 'police', 'incidents', %s, %s, 'f.csv', 'sha', 1, 'loaded', %s)",
                (f"police/{period}-28/f.csv", period, f"{period}-28", rows),
            )
        assert verify_contract(POLICE, raw_database_url).passed
        # An approved re-delivery emptied an older period: the latest pair still agrees.
        conn.execute("delete from raw_police.incidents where _period = '2026-02'")
    result = verify_contract(POLICE, raw_database_url)
    assert [(c.type, c.value) for c in result.failed_checks] == [("metric", 1)]


def test_a_period_delivered_with_nothing_to_report_is_not_an_emptied_one(raw_database_url):
    """August's school census has no sessions: its header-only file is loaded with 0 rows. That
    is not a period emptied by a re-delivery, so it does not fail the gate (it did at 20k)."""
    with psycopg.connect(raw_database_url, autocommit=True) as conn:
        for period, rows in (("2026-07", 24), ("2026-08", 0), ("2026-09", 26)):
            if rows:
                insert_rows(conn, "raw_police.incidents", police_rows(period, rows, start=100))
            conn.execute(
                "insert into ingestion.deliveries (delivery_id, body, entity, period,"
                " delivery_date, file_name, file_sha256, bytes, status, rows_loaded)"
                " values (%s, 'police', 'incidents', %s, %s, 'f.csv', 'sha', 1, 'loaded', %s)",
                (f"police/{period}-28/f.csv", period, f"{period}-28", rows),
            )
    assert verify_contract(POLICE, raw_database_url).passed
