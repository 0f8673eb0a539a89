"""Ingestion speed: the loader against a plain COPY of the same CSV, and pandas.to_sql.

Target (issue 4): loading a 1,000,000-row extract with pseudonymisation, typing and lineage
runs at >= 0.6 times the rate of a plain psycopg COPY of the same file into an all-text table,
with peak memory under 500 MB. Each method runs in its own subprocess so its peak memory
(``ru_maxrss``) is its own. pandas.to_sql runs on a sample and is scaled, as it is slow.

``python -m benchmarks.bench_ingestion [--rows N]``
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from ingestion.identifiers import nhs_check_digit
from ingestion.spec import SourceSpec
from jigsaw import database

ROWS = 1_000_000
PANDAS_SAMPLE = 100_000
BODY, ENTITY = "bench_council", "contacts"
HEADER = [
    "contact_id", "person_id", "given_name", "family_name", "date_of_birth", "sex",
    "nhs_number", "postcode", "address", "contact_date", "contact_type", "amount",
]  # fmt: skip

SPEC = {
    "body": BODY,
    "title": "Benchmark council",
    "owner": "Benchmarks",
    "sharing_agreement": {
        "reference": "BENCH",
        "permitted_purposes": ["research"],
        "retention_months": 1,
        "lawful_basis": "synthetic",
    },
    "entities": [
        {
            "name": ENTITY,
            "description": "Synthetic contacts.",
            "format": "csv",
            "file_pattern": "contacts_{period}.csv",
            "primary_key": ["contact_id"],
            "columns": [
                {"name": "contact_id", "nullable": False, "description": "id"},
                {"name": "person_id", "nullable": False, "privacy": "token",
                 "linkage": "person_ref", "description": "person"},
                {"name": "given_name", "privacy": "drop", "linkage": "given_name",
                 "description": "given"},
                {"name": "family_name", "privacy": "drop", "linkage": "family_name",
                 "description": "family"},
                {"name": "date_of_birth", "type": "date", "format": "%d/%m/%Y",
                 "privacy": "year", "linkage": "date_of_birth", "description": "dob"},
                {"name": "sex", "linkage": "sex", "description": "sex"},
                {"name": "nhs_number", "privacy": "token", "linkage": "nhs_number",
                 "description": "nhs"},
                {"name": "postcode", "privacy": "drop", "linkage": "postcode",
                 "description": "postcode"},
                {"name": "address", "privacy": "drop", "linkage": "address",
                 "description": "address"},
                {"name": "contact_date", "type": "date", "format": "%Y-%m-%d",
                 "nullable": False, "description": "date"},
                {"name": "contact_type", "description": "type"},
                {"name": "amount", "type": "numeric", "description": "amount"},
            ],
        }
    ],
}  # fmt: skip

GIVEN = ["Olivia", "Amelia", "Isla", "Ava", "Noah", "Oliver", "George", "Arthur", "Leo", "Muhammad"]
FAMILY = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Khan"]
STREETS = ["High Street", "Station Road", "Church Lane", "Park Avenue", "Mill Road"]
TYPES = ["assessment", "review", "safeguarding_concern", "service_start", "information_advice"]


def _nhs_number(rng: random.Random) -> str:
    while True:
        first = f"{rng.randrange(400_000_000, 999_999_999):09d}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def write_extract(path: Path, rows: int, seed: int = 7) -> None:
    """A synthetic extract: about a third of people appear more than once, as in real data."""
    rng = random.Random(seed)
    people = max(rows * 2 // 3, 1)
    start = dt.date(1930, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(rows):
            person = rng.randrange(people)
            prng = random.Random(person)
            dob = start + dt.timedelta(days=prng.randrange(32_000))
            out.writerow(
                [
                    f"C{i:08d}",
                    f"P{person:08d}",
                    prng.choice(GIVEN),
                    prng.choice(FAMILY),
                    dob.strftime("%d/%m/%Y"),
                    prng.choice("MF"),
                    _nhs_number(prng) if prng.random() < 0.9 else "",
                    f"AB{prng.randrange(1, 30)} {prng.randrange(1, 9)}CD",
                    f"{prng.randrange(1, 200)} {prng.choice(STREETS)}",
                    f"2026-01-{rng.randrange(1, 29):02d}",
                    rng.choice(TYPES),
                    f"{rng.randrange(0, 100_000) / 100:.2f}",
                ]
            )


# --- the measured methods, each run in a subprocess ------------------------------------------


def measure_plain_copy(url: str, path: Path) -> int:
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in HEADER)
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("create table plain_copy ({})").format(columns))
        statement = "copy plain_copy from stdin (format csv, header true)"
        with conn.cursor().copy(statement) as copy, path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        return conn.execute("select count(*) from plain_copy").fetchone()[0]


def _without_identity(spec: dict) -> dict:
    """The same extract with no linkage roles: tokens and typing, but no identity rows."""
    document = json.loads(json.dumps(spec))
    document["body"] = f"{BODY}_no_identity"
    for column in document["entities"][0]["columns"]:
        column.pop("linkage", None)
    return document


def measure_loader(url: str, path: Path, document: dict = SPEC) -> int:
    from ingestion.landing import delivery_for
    from ingestion.loader import load_delivery
    from ingestion.pipeline import prepare_database
    from ingestion.pseudonymise import Pseudonymiser

    spec = SourceSpec.model_validate(document)
    delivery = delivery_for(spec, path)
    with psycopg.connect(url, autocommit=True) as conn:
        prepare_database(conn, [spec])
        result = load_delivery(conn, spec, delivery, Pseudonymiser())
    assert result.rows_delivered == result.rows_loaded, result
    return result.rows_loaded


def measure_pandas(url: str, path: Path) -> int:
    import pandas as pd
    import sqlalchemy

    frame = pd.read_csv(path, dtype=str, nrows=PANDAS_SAMPLE, keep_default_na=False)
    engine = sqlalchemy.create_engine(database.sqlalchemy_url(url))
    with engine.begin() as connection:
        frame.to_sql("pandas_to_sql", connection, index=False, chunksize=10_000)
    engine.dispose()
    return len(frame)


def measure_loader_without_identity(url: str, path: Path) -> int:
    return measure_loader(url, path, _without_identity(SPEC))


def measure_server_ceiling(url: str, path: Path) -> tuple[int, float]:
    """Only PostgreSQL's share of a load: COPY the loader's finished rows (raw, then identity),
    built beforehand and not timed. No client, however fast, can load faster than this."""
    from ingestion.landing import delivery_for
    from ingestion.pipeline import prepare_database
    from ingestion.pseudonymise import Pseudonymiser
    from ingestion.raw_tables import LINEAGE_COLUMNS, raw_columns
    from ingestion.readers import read_records
    from ingestion.transform import IDENTITY_COLUMNS, RowBuilder

    spec = SourceSpec.model_validate(SPEC)
    entity = spec.entities[0]
    delivery = delivery_for(spec, path)
    delivery_id = delivery.delivery_id
    lineage = (delivery_id, delivery.period, "0" * 64)
    head = (spec.body, entity.name, delivery_id, delivery.period)
    build = RowBuilder(spec.body, entity, Pseudonymiser(), lineage, head).build
    raw_file, identity_file = path.with_suffix(".raw"), path.with_suffix(".identity")
    rows = 0
    with raw_file.open("w", newline="") as raw_text, identity_file.open("w", newline="") as ids:
        raw_out, identity_out = csv.writer(raw_text), csv.writer(ids)
        for record in read_records(path, entity):
            raw, identity = build(record.values, record.row_number)
            raw_out.writerow(raw)
            identity_out.writerow(identity)
            rows += 1
    raw_names = [n for n, _ in LINEAGE_COLUMNS if n != "_loaded_at"]
    raw_names += [n for n, _ in raw_columns(entity)]
    targets = [
        (sql.SQL("{}.{}").format(sql.Identifier(spec.raw_schema), sql.Identifier(entity.name)),
         raw_names, raw_file),
        (sql.SQL("identity.person_records"), list(IDENTITY_COLUMNS), identity_file),
    ]  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        prepare_database(conn, [spec])
        started = time.perf_counter()
        with conn.transaction():
            for table, names, source in targets:
                statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(
                    table, sql.SQL(", ").join(map(sql.Identifier, names))
                )
                with conn.cursor().copy(statement) as copy, source.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
        seconds = time.perf_counter() - started
    raw_file.unlink()
    identity_file.unlink()
    return rows, seconds


METHODS = {
    "copy": measure_plain_copy,
    "loader": measure_loader,
    "loader_no_identity": measure_loader_without_identity,
    "ceiling": measure_server_ceiling,
    "pandas": measure_pandas,
}


def _child(method: str, url: str, path: Path) -> None:
    started = time.perf_counter()
    rows = METHODS[method](url, path)
    seconds = time.perf_counter() - started
    if isinstance(rows, tuple):  # the method timed only its own part
        rows, seconds = rows
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "rows": rows,
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,
        "client_cpu_s": usage.ru_utime + usage.ru_stime,
    }
    print(json.dumps(figures))


def _run(method: str, server_url: str, path: Path) -> dict:
    """One method in its own process and its own empty database, so none sees another's rows."""
    url = database.with_database(server_url, f"jigsaw_bench_{uuid.uuid4().hex[:8]}")
    database.ensure_database(url)
    try:
        return _run_in(method, url, path)
    finally:
        database.drop_database(url)


def _run_in(method: str, url: str, path: Path) -> dict:
    env = dict(os.environ, JIGSAW_PSEUDONYMISATION_KEY="benchmark-key-not-a-secret")
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_ingestion",
        "--child",
        method,
        url,
        str(path),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(rows: int = ROWS) -> None:
    server_url = database.test_server_url()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / BODY / "2026-02-01"
        folder.mkdir(parents=True)
        path = folder / "contacts_2026-01.csv"
        started = time.perf_counter()
        write_extract(path, rows)
        size_mb = path.stat().st_size / 1e6
        print(f"extract: {rows:,} rows, {size_mb:.0f} MB, written in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        figures = {m: _run(m, server_url, path) for m in METHODS}
    rates = {m: f["rows"] / f["seconds"] for m, f in figures.items()}
    for method, label in (
        ("copy", "plain psycopg COPY into an all-text table"),
        ("loader", "Jigsaw loader (typing, pseudonymisation, lineage, identity)"),
        ("loader_no_identity", "  the same without identity rows (no linkage roles)"),
        ("ceiling", "  PostgreSQL's share alone: COPY of its finished rows"),
        ("pandas", f"pandas read_csv + to_sql ({PANDAS_SAMPLE:,}-row sample, scaled)"),
    ):
        f = figures[method]
        print(f"{label:<62} {rates[method]:>10,.0f} rows/s  {f['seconds']:7.1f} s"
              f"  client cpu {f['client_cpu_s']:6.1f} s  peak {f['peak_mb']:6.0f} MB")  # fmt: skip
    ratio = rates["loader"] / rates["copy"]
    print(f"loader / plain COPY rate ratio: {ratio:.2f} (target >= 0.6)")
    ceiling = rates["ceiling"] / rates["copy"]
    print(f"ceiling / plain COPY rate ratio: {ceiling:.2f} (the best any client could reach with "
          "this raw and identity DDL)")  # fmt: skip
    print(f"loader peak memory: {figures['loader']['peak_mb']:.0f} MB (target < 500 MB)")
    print(f"plain COPY / pandas.to_sql: {rates['copy'] / rates['pandas']:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "URL", "PATH"))
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], Path(args.child[2]))
    else:
        main(args.rows)
