"""The closing summary of `make demo`: what ran, what passed, what analysts can now read."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from jigsaw import database


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
        "where table_schema = 'marts' order by table_name"
    ).fetchall()
    counts = []
    for (name,) in tables:
        query = sql.SQL("select count(*) from marts.{}").format(sql.Identifier(name))
        readers = ", ".join(sorted(who_reads(conn, "marts", name))) or "nobody"
        counts.append((name, conn.execute(query).fetchone()[0], readers))
    return counts


def print_summary(url: str, ingestion: Any, result: Any, seconds: float) -> int:
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    evaluations = result.get_asset_check_evaluations()
    passed = [e for e in evaluations if e.passed]
    failed = [e for e in evaluations if not e.passed]

    with database.connect(url) as conn:
        ledger = _ledger_counts(conn)
        marts = _published_marts(conn)

    print("\n==================== Jigsaw demo: summary ====================")
    print(f"database            {database.describe(url)}")
    print(
        f"ingestion           {sum(ingestion.succeeded.values())} of {len(ingestion.runs)} "
        f"body runs succeeded, {sum(len(p) for p in ingestion.periods.values())} delivery "
        f"periods, {ingestion.seconds:.0f} s"
    )
    for body, ok in sorted(ingestion.succeeded.items()):
        if not ok:
            print(f"  ingestion FAILED for {body} (run {ingestion.runs[body]}): see the UI")
    for status, files, loaded, quarantined in ledger:
        print(
            f"  deliveries {status:<10} {files:>5} files  {loaded:>10} rows loaded  "
            f"{quarantined:>6} rows quarantined"
        )
    print(
        f"regional build      {'succeeded' if result.success else 'FAILED'}: "
        f"{len(materialised)} assets materialised"
    )
    print(f"checks              {len(passed)} passed, {len(failed)} failed")
    for evaluation in failed:
        print(
            f"  failed: {evaluation.asset_key.to_user_string()} / {evaluation.check_name} "
            f"({evaluation.severity.value})"
        )
    print(f"marts published     {len(marts)}")
    for name, rows, readers in marts:
        print(f"  marts.{name:<40} {rows:>9} rows  read by {readers}")
    print(f"time                {seconds:.0f} s")
    print("next                make ui   -> http://127.0.0.1:3000 (runs, checks, sensors)")
    print("                    analysts: jigsaw_analyst reads the aggregate marts; record-level")
    print("                    marts go to jigsaw_practitioner_<purpose> (README: Five Safes)")
    print("==============================================================")
    return 0 if result.success and marts else 1
