"""The closing summary of `make demo`: what ran, what passed, what analysts can now read."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from jigsaw import database, schemas


def _ledger_counts(conn: psycopg.Connection) -> list[tuple[str, int, int, int]]:
    return conn.execute(
        """
        select status, count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)
        from ingestion.deliveries group by status order by status
        """
    ).fetchall()


def _published_marts(conn: psycopg.Connection) -> list[tuple[str, int, str]]:
    from quality.access import who_reads

    tables = conn.execute(
        "select table_name from information_schema.tables "
        "where table_schema = %s order by table_name",
        (schemas.MARTS,),
    ).fetchall()
    counts = []
    for (name,) in tables:
        query = sql.SQL("select count(*) from {}").format(sql.Identifier(schemas.MARTS, name))
        readers = ", ".join(sorted(who_reads(conn, schemas.MARTS, name))) or "nobody"
        counts.append((name, conn.execute(query).fetchone()[0], readers))
    return counts


def _ingestion_evaluations(instance: Any, run_ids: list[str]) -> list[Any]:
    import dagster as dg

    found = []
    for run_id in run_ids:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100000
        ).records
        found += [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return found


def _verdicts(evaluations: list[Any]) -> str:
    passed = sum(e.passed for e in evaluations)
    warned = sum(not e.passed and e.severity.value == "WARN" for e in evaluations)
    errors = len(evaluations) - passed - warned
    return f"{len(evaluations)} verdicts: {passed} passed, {warned} warnings, {errors} errors"


def print_summary(url: str, ingestion: Any, result: Any, elapsed: str, instance: Any) -> int:
    """Each count says what it covers: which runs, which checks, which files."""
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    loaded = _ingestion_evaluations(instance, list(ingestion.runs.values()))
    ingestion_failed = [e for e in loaded if not e.passed]

    with database.connect(url) as conn:
        ledger = _ledger_counts(conn)
        marts = _published_marts(conn)

    print("\n==================== Jigsaw demo: summary ====================")
    print(f"database            {database.describe(url)}")
    print(
        f"ingestion runs      {sum(ingestion.succeeded.values())} of {len(ingestion.runs)} "
        f"bodies' runs succeeded, covering {sum(len(p) for p in ingestion.periods.values())} "
        f"delivery periods, {ingestion.seconds:.0f} s"
    )
    for body, ok in sorted(ingestion.succeeded.items()):
        if not ok:
            print(f"  ingestion FAILED for {body} (run {ingestion.runs[body]}): see the UI")
    print("delivered files     by their fate in the delivery ledger (every file ever landed):")
    for status, files, rows_loaded, quarantined in ledger:
        print(
            f"  {status:<12} {files:>5} files  {rows_loaded:>10} rows loaded  "
            f"{quarantined:>6} rows quarantined"
        )
    print(
        f"ingestion checks    {_verdicts(loaded)} (raw Soda contracts and delivery checks "
        "in the runs above; a rejected file's period has its own warning)"
    )
    for evaluation in ingestion_failed:
        where = f" [{evaluation.partition}]" if evaluation.partition else ""
        print(
            f"  {evaluation.severity.value.lower():<7} {evaluation.asset_key.to_user_string()}"
            f"{where} / {evaluation.check_name}: {evaluation.description or ''}"[:150]
        )
    print(
        f"regional build      {'succeeded' if result.success else 'FAILED'}: "
        f"{len(materialised)} assets materialised (linkage, dbt models, published marts)"
    )
    print(
        f"build checks        {_verdicts(evaluations)} (dbt tests, Soda contracts, privacy, "
        "disclosure and purpose gates, bodies in step with the region)"
    )
    for evaluation in failed:
        print(
            f"  {evaluation.severity.value.lower():<7} {evaluation.asset_key.to_user_string()} / "
            f"{evaluation.check_name}: {evaluation.description or ''}"[:150]
        )
    print(f"marts published     {len(marts)} tables in schema marts")
    for name, rows, readers in marts:
        print(f"  marts.{name:<40} {rows:>9} rows  read by {readers}")
    print(f"time                {elapsed} in all")
    print("next                make ui   -> http://127.0.0.1:3000 (runs, checks, sensors)")
    print("                    make docs -> http://127.0.0.1:8080 (the catalogue for analysts)")
    print("                    analysts: jigsaw_analyst reads the aggregate marts; record-level")
    print("                    marts go to jigsaw_practitioner_<purpose> (README: Five Safes)")
    print("==============================================================")
    return 0 if result.success and marts else 1
