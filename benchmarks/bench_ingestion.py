"""Ingestion speed: the loader against a plain COPY of the same CSV, its ceiling, pandas and dlt.

Targets (issue 17), on a 1,000,000-row extract: the loader (typing, pseudonymisation, lineage,
identity, quarantine checks) at >= 0.3 times the rate of a plain psycopg COPY of the same file
into an all-text table (goal 0.5), >= 0.8 times its ceiling (PostgreSQL COPYing the loader's
finished rows, no client work at all), >= 5 times dlt's COPY-based ``csv`` loader, with peak
memory under 500 MB. The former row-by-row loader is measured alongside for comparison.

Each method runs in its own subprocess and database, so its peak memory (``ru_maxrss``) is its
own. pandas.to_sql runs on a sample and is scaled, as it is slow. dlt is not a project
dependency: with ``--with-dlt`` the benchmark makes a virtualenv for it under the state
folder (``.jigsaw/bench-dlt-venv``, once) and runs it there. Plain COPY, the loader and its
ceiling run in turn ``--repeat`` times (3), and each one's median run stands: one run of the
same load varies by a quarter on a shared machine.

``python -m benchmarks ingestion [--rows N] [--with-dlt] [--repeat K]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from ingestion.identifiers import nhs_check_digit
from ingestion.spec import SourceSpec
from jigsaw import database

ROWS = 1_000_000
CORES = os.cpu_count() or 1
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

# CPU seconds of the timed part of a method, client (this process and its children) and server
# (the connection's backend, read from /proc when the server runs on this machine): on a shared
# machine these hold still when wall times do not.
TIMED_CPU: dict[str, float | None] = {}


def _client_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _backend_cpu(conn: psycopg.Connection) -> float | None:
    try:
        fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1]
    except OSError:  # a server on another machine
        return None
    utime, stime = fields.split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _timed_cpu(conn: psycopg.Connection) -> Iterator[None]:
    client, server = _client_cpu(), _backend_cpu(conn)
    yield
    after = _backend_cpu(conn)
    TIMED_CPU["client"] = _client_cpu() - client
    TIMED_CPU["server"] = None if server is None or after is None else after - server


def measure_plain_copy(url: str, path: Path) -> int:
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in HEADER)
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("create table plain_copy ({})").format(columns))
        statement = "copy plain_copy from stdin (format csv, header true)"
        with (
            _timed_cpu(conn),
            conn.cursor().copy(statement) as copy,
            path.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        return conn.execute("select count(*) from plain_copy").fetchone()[0]


def measure_loader(url: str, path: Path, row_by_row: bool = False) -> tuple[int, float, dict]:
    """One ``load_delivery`` of the file, timed from its start (file hash, ledger, load) to its
    commit; imports and table creation are not timed, as for the ceiling. Also what a raw row
    costs on disk: the raw table's total size (heap, index, TOAST) over its rows."""
    from ingestion.folder_load import prepare_database
    from ingestion.landing import delivery_for
    from ingestion.loader import load_delivery
    from ingestion.pseudonymise import Pseudonymiser

    spec = SourceSpec.model_validate(SPEC)
    delivery = delivery_for(spec, path)
    with psycopg.connect(url, autocommit=True) as conn:
        prepare_database(conn, [spec])
        with _timed_cpu(conn):
            result = load_delivery(conn, spec, delivery, Pseudonymiser(), row_by_row=row_by_row)
        size = conn.execute(
            "select pg_total_relation_size(%s::regclass)", (f"{spec.raw_schema}.{ENTITY}",)
        ).fetchone()[0]
    assert result.rows_delivered == result.rows_loaded, result
    return result.rows_loaded, result.seconds, {"raw_bytes_per_row": size / result.rows_loaded}


def measure_pandas(url: str, path: Path) -> int:
    import pandas as pd
    import sqlalchemy

    frame = pd.read_csv(path, dtype=str, nrows=PANDAS_SAMPLE, keep_default_na=False)
    engine = sqlalchemy.create_engine(database.sqlalchemy_url(url))
    with engine.begin() as connection:
        frame.to_sql("pandas_to_sql", connection, index=False, chunksize=10_000)
    engine.dispose()
    return len(frame)


def measure_row_by_row_loader(url: str, path: Path) -> tuple[int, float, dict]:
    return measure_loader(url, path, row_by_row=True)


def measure_server_ceiling(url: str, path: Path) -> tuple[int, float]:
    """Only PostgreSQL's share of a load: COPY the loader's finished rows (raw, identity, and
    identity's end-of-delivery rows), built beforehand and not timed. No client, however fast,
    can load faster than this."""
    from ingestion.batches import COPY_OPTIONS, BatchBuilder, CopyRows, csv_batches
    from ingestion.folder_load import prepare_database
    from ingestion.landing import delivery_for
    from ingestion.loader import PERSON_RECORDS, copy_statement, end_parts, identity_end_rows
    from ingestion.pseudonymise import Pseudonymiser
    from ingestion.raw_tables import IDENTITY_COLUMNS, LINEAGE_COLUMNS, raw_columns

    spec = SourceSpec.model_validate(SPEC)
    entity = spec.entities[0]
    delivery = delivery_for(spec, path)
    delivery_id = delivery.delivery_id
    lineage = (1, delivery.period)  # a delivery key (raw_tables.LINEAGE_COLUMNS), as the loader
    head = (spec.body, entity.name, delivery_id, delivery.period)
    builder = BatchBuilder(spec.body, entity, Pseudonymiser(), lineage, head)
    raw_table = (spec.raw_schema, entity.name)
    raw_names = [n for n, _ in LINEAGE_COLUMNS] + [n for n, _ in raw_columns(entity)]
    # (table's name, COPY format) -> (its COPY statement, the file of its rows), in the order
    # the loader sends them
    files: dict[tuple[object, str], tuple[sql.Composable, Path]] = {}

    def spool(name: object, table, names, rows: CopyRows) -> None:
        key = (name, rows.format)
        if key not in files:
            statement = copy_statement(table, names, COPY_OPTIONS[rows.format])
            files[key] = (statement, path.with_suffix(f".{len(files)}"))
        with files[key][1].open("ab") as out:
            out.write(rows.data)

    rows = 0
    for batch in csv_batches(path, entity):
        built = builder.build(batch)
        spool("raw", raw_table, raw_names, built.raw)
        if built.identity is not None:
            spool("person_records", PERSON_RECORDS, IDENTITY_COLUMNS, built.identity)
        rows += built.loaded
    for part in end_parts(identity_end_rows(head, builder.distinct)):
        spool(part.table, part.table, part.columns, part.rows)
    with psycopg.connect(url, autocommit=True) as conn:
        prepare_database(conn, [spec])
        started = time.perf_counter()
        with _timed_cpu(conn), conn.transaction():
            for statement, source in files.values():
                with conn.cursor().copy(statement) as copy, source.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
    seconds = time.perf_counter() - started
    for _, source in files.values():
        source.unlink()
    return rows, seconds


# dlt's own script, run in dlt's virtualenv: the same file through dlt's csv loader, as a data
# engineer would write it (rows as dicts, all columns text), timed from start to loaded.
DLT_SCRIPT = """
import csv, json, resource, sys, time
import dlt
url, path, workdir = sys.argv[1:4]
started = time.perf_counter()
@dlt.resource(name="contacts", columns={c: {"data_type": "text"} for c in json.loads(sys.argv[4])})
def contacts():
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        while chunk := [row for _, row in zip(range(10_000), reader)]:
            yield chunk
pipeline = dlt.pipeline(pipeline_name="bench_dlt", pipelines_dir=workdir,
                        destination=dlt.destinations.postgres(credentials=url),
                        dataset_name="dlt_bench")
info = pipeline.run(contacts(), loader_file_format="csv")
seconds = time.perf_counter() - started
with pipeline.sql_client() as client:
    rows = client.execute_sql("select count(*) from contacts")[0][0]
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024,
                  "client_cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def _dlt_python() -> Path:
    """dlt's virtualenv (made once, under the state folder): dlt is no project dependency."""
    from jigsaw.paths import state_dir

    venv = state_dir() / "bench-dlt-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making a virtualenv for dlt in {venv} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(python), "-m", "pip", "install", "-q", "dlt[postgres]"]
        done = subprocess.run(install, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"installing dlt failed:\n{done.stderr[-4000:]}")
    return python


def _run_dlt(server_url: str, path: Path) -> dict:
    made = url = database.with_database(server_url, f"jigsaw_bench_{uuid.uuid4().hex[:8]}")
    database.ensure_database(made)
    try:
        parts = database.parse_url(url)
        if not parts.password:  # dlt insists on one; a server that trusts us ignores it
            url = database.with_user(url, parts.user, "unused-with-trust-auth")
        with tempfile.TemporaryDirectory() as workdir:
            command = [str(_dlt_python()), "-c", DLT_SCRIPT, url, str(path), workdir,
                       json.dumps(HEADER)]  # fmt: skip
            env = dict(os.environ, RUNTIME__LOG_LEVEL="WARNING")
            done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"dlt failed:\n{done.stderr[-4000:]}")
            return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        database.drop_database(made)


# The methods the floors compare (loader against plain COPY and against its ceiling).
COMPARED = ("copy", "loader", "ceiling")

METHODS = {
    "copy": measure_plain_copy,
    # The loader and its ceiling one after the other: on a shared machine the load varies.
    "loader": measure_loader,
    "ceiling": measure_server_ceiling,
    "row_by_row": measure_row_by_row_loader,
    "pandas": measure_pandas,
}


def _child(method: str, url: str, path: Path) -> None:
    started = time.perf_counter()
    rows = METHODS[method](url, path)
    seconds = time.perf_counter() - started
    extra = {}
    if isinstance(rows, tuple):  # the method timed only its own part (and measured more)
        rows, seconds, *more = rows
        extra = more[0] if more else {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # The loader's signing process (ingestion.signing) is client work too.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {
        "rows": rows,
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,
        "client_cpu_s": usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime,
        "helper_cpu_s": children.ru_utime + children.ru_stime,
        "timed_client_cpu_s": TIMED_CPU.get("client"),
        "timed_server_cpu_s": TIMED_CPU.get("server"),
        **extra,
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


LABELS = {
    "copy": "plain psycopg COPY into an all-text table",
    "loader": "Jigsaw loader (typing, pseudonymisation, lineage, identity)",
    "row_by_row": "  the former row-by-row loader, for comparison",
    "ceiling": "  PostgreSQL's share alone: COPY of its finished rows",
    "pandas": f"pandas read_csv + to_sql ({PANDAS_SAMPLE:,}-row sample, scaled)",
    "dlt": "dlt, csv loader (COPY), all columns text",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ingestion")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--with-dlt", action="store_true", help="also time dlt's csv loader")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of plain COPY, the loader and its ceiling"
    )
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "URL", "PATH"))
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv if argv is not None else [])
    rows = args.rows
    server_url = database.test_server_url()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / BODY / "2026-02-01"
        folder.mkdir(parents=True)
        path = folder / "contacts_2026-01.csv"
        started = time.perf_counter()
        write_extract(path, rows)
        size_mb = path.stat().st_size / 1e6
        print(f"extract: {rows:,} rows, {size_mb:.0f} MB, written in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        figures = {}
        # The three methods the floors compare run in turn, --repeat times, and each one's
        # median run stands: on a shared machine one run of the same load varies by a quarter
        # (the server's CPU for the same rows most of all).
        runs: dict[str, list[dict]] = {method: [] for method in COMPARED}
        for round_number in range(1, args.repeat + 1):
            for method in COMPARED:
                runs[method].append(_run(method, server_url, path))
                if args.repeat > 1:
                    _show(method, runs[method][-1], f" (run {round_number})")
        for method in METHODS:
            if method in runs:
                ordered = sorted(runs[method], key=_seconds)
                # The median run (the lower one of an even number), with the largest peak.
                peak = max(run["peak_mb"] for run in ordered)
                figures[method] = {**ordered[(len(ordered) - 1) // 2], "peak_mb": peak}
            else:
                figures[method] = _run(method, server_url, path)
            median = method in runs and args.repeat > 1
            _show(method, figures[method], " (median)" if median else "")
        if args.with_dlt:
            figures["dlt"] = _run_dlt(server_url, path)
            _show("dlt", figures["dlt"])
    rates = {m: f["rows"] / f["seconds"] for m, f in figures.items()}
    summary = {
        "rows": rows,
        "loader_vs_plain_copy": round(rates["loader"] / rates["copy"], 3),
        "loader_vs_ceiling": round(rates["loader"] / rates["ceiling"], 3),
        "loader_vs_dlt": round(rates["loader"] / rates["dlt"], 2) if "dlt" in rates else None,
        "loader_peak_mb": round(figures["loader"]["peak_mb"]),
        "raw_bytes_per_row": round(figures["loader"]["raw_bytes_per_row"], 1),
        "ceiling_vs_plain_copy": round(rates["ceiling"] / rates["copy"], 3),
        "loader_vs_row_by_row": round(rates["loader"] / rates["row_by_row"], 2),
        "row_by_row_vs_plain_copy": round(rates["row_by_row"] / rates["copy"], 3),
        "plain_copy_vs_pandas": round(rates["copy"] / rates["pandas"], 1),
        "rows_per_s": {m: round(r) for m, r in rates.items()},
        "peak_mb": {m: round(f["peak_mb"]) for m, f in figures.items()},
    }
    print(f"loader / plain COPY: {summary['loader_vs_plain_copy']:.2f} (floor 0.3, goal 0.5); "
          f"ceiling / plain COPY: {summary['ceiling_vs_plain_copy']:.2f}")  # fmt: skip
    print(f"loader / ceiling: {summary['loader_vs_ceiling']:.2f} (target >= 0.8)")
    if summary["loader_vs_dlt"] is not None:
        print(f"loader / dlt: {summary['loader_vs_dlt']:.1f}x (target >= 5)")
    print(f"loader peak memory: {summary['loader_peak_mb']} MB (target < 500 MB); "
          f"{summary['loader_vs_row_by_row']:.1f}x the row-by-row loader")  # fmt: skip
    print(f"raw table on disk: {summary['raw_bytes_per_row']:.0f} bytes per row (heap and index)")
    cpu = {
        m: (f.get("timed_client_cpu_s"), f.get("timed_server_cpu_s")) for m, f in figures.items()
    }
    summary["timed_cpu_s"] = {
        m: {"client": round(c, 2), "server": None if v is None else round(v, 2)}
        for m, (c, v) in cpu.items()
        if c is not None
    }
    client, server = cpu["loader"]
    if server is not None:
        # Client and server share the machine's cores: a load cannot take less than their sum
        # spread over all of them, nor less than the ceiling's time, whatever the overlap.
        bound = max((client + server) / CORES, figures["ceiling"]["seconds"])
        summary["loader_best_vs_plain_copy"] = round(figures["copy"]["seconds"] / bound, 3)
        summary["loader_best_vs_ceiling"] = round(figures["ceiling"]["seconds"] / bound, 3)
        print(
            f"loader CPU in its timed part: client {client:.1f} s, server {server:.1f} s; on "
            f"{CORES} cores at least {bound:.1f} s: at best "
            f"{summary['loader_best_vs_plain_copy']:.2f} of plain COPY and "
            f"{summary['loader_best_vs_ceiling']:.2f} of the ceiling with today's work"
        )
    print(json.dumps(summary))


def _seconds(figures: dict) -> float:
    return figures["seconds"]


def _show(method: str, f: dict, note: str = "") -> None:
    rate = f["rows"] / f["seconds"]
    print(
        f"{LABELS[method] + note:<72} {rate:>10,.0f} rows/s  {f['seconds']:7.1f} s"
        f"  client cpu {f['client_cpu_s']:6.1f} s ({f.get('helper_cpu_s', 0):.1f} s in"
        f" a helper process)  peak {f['peak_mb']:6.0f} MB",
        flush=True,
    )


if __name__ == "__main__":
    arguments = _parser().parse_args()
    if arguments.child:
        _child(arguments.child[0], arguments.child[1], Path(arguments.child[2]))
    else:
        main(sys.argv[1:])
