"""A corpus of bad (and awkward) deliveries, each with what must become of it.

Each kind is one file for one period of one body, written the way a faulty extract system, a
person with a spreadsheet or a broken transfer would write it. ``write_corpus`` lands them all
and returns the expected outcome per delivery id; the test loads them through each body's
Dagster job and compares the ledger and the quarantine with these expectations.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from tests.ingestion import deliveries as d


@dataclass(frozen=True)
class Outcome:
    status: str  # the ledger status
    loaded: int | None = None  # rows in raw (None: not loaded)
    quarantined: int | None = None
    cause: str | None = None  # in the ledger's error (rejected) or a quarantine reason


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",", eol: str = "\n"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=eol)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _police(*rows: list[str], eol: str = "\n") -> bytes:
    return _csv_text(d.POLICE_HEADER, list(rows), eol=eol).encode()


def _acute(*rows: list[str], delimiter: str = "|") -> bytes:
    return _csv_text(d.ACUTE_HEADER, list(rows), delimiter=delimiter).encode()


def _workbook(build: Callable[[Workbook], None]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cts_sheet(workbook: Workbook, name: str = "CTS", rows: int = 2):
    sheet = workbook.create_sheet(name)
    sheet.append(d.CTS_HEADER)
    for i in range(rows):
        sheet.append(d.cts_row(i + 1))
    return sheet


def _tenancies(*records: object) -> bytes:
    return json.dumps({"tenancies": list(records)}).encode()


def _sensors(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _deep_json(levels: int) -> str:
    return "[" * levels + "]" * levels


P1, P2 = d.police_row(1), d.police_row(2)
# A quoted field over the csv module's limit that spans lines holding delimiters and quotes:
# read afresh from its next line, each would make a spurious record.
_SPILLING = ('Flat 1, "The Maltings"\n' + "y" * 70_000 + "\n") * 3 + 'end, "quoted" part'


def _formulas(workbook: Workbook) -> None:
    sheet = _cts_sheet(workbook, rows=1)
    row = d.cts_row(2)
    row[10] = "=10+2.5"  # Weekly Award as a formula: saved without a computed value
    sheet.append(row)


def _merged(workbook: Workbook) -> None:
    sheet = _cts_sheet(workbook, rows=2)
    sheet.append(["Total", None, None, None, None, None, None, None, None, None, 25.0, None])
    sheet.merge_cells("A4:J4")  # a totals line, merged across: no claimant, quarantined


# (body, file name pattern, bytes, expected outcome): one kind per entry.
KINDS: list[tuple[str, str, bytes, Outcome]] = [
    # CSV (police, comma-separated)
    ("police", "incidents_{p}.csv", _police(P1, P2), Outcome("loaded", 2, 0)),
    ("police", "incidents_{p}.csv", _police(), Outcome("loaded", 0, 0)),
    ("police", "incidents_{p}.csv", b"", Outcome("rejected", cause="empty file (0 bytes)")),
    ("police", "incidents_{p}.csv", b"\n\n", Outcome("rejected", cause="no header line")),
    (
        "police",
        "incidents_{p}.csv",
        _csv_text(d.POLICE_HEADER[1:], [P1[1:]]).encode(),
        Outcome("rejected", cause="missing required column 'INCIDENT_NO'"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _csv_text(d.POLICE_HEADER, [P1], delimiter=";").encode(),
        Outcome("rejected", cause="wrong delimiter"),
    ),
    ("police", "incidents_{p}.csv", codecs.BOM_UTF8 + _police(P1), Outcome("loaded", 1, 0)),
    (
        "police",
        "incidents_{p}.csv",
        _csv_text(d.POLICE_HEADER, [P1]).encode("utf-16"),
        Outcome("rejected", cause="UTF-16 byte-order mark"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1).replace(b"SURNAME", b"SUR\x00NAME", 1),
        Outcome("rejected", cause="the header line contains NUL bytes"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1, d.police_row(2, SURNAME="SM\x00ITH")),
        Outcome("loaded", 1, 1, cause="contains a NUL character"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1, d.police_row(2, ADDRESS="x" * 200_000), d.police_row(3)),
        Outcome("loaded", 2, 1, cause="field larger than field limit"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1, d.police_row(2, ADDRESS=_SPILLING), d.police_row(3), d.police_row(4)),
        Outcome("loaded", 3, 1, cause="field larger than field limit"),
    ),
    ("police", "incidents_{p}.csv", _police(P1, P2, eol="\r\n"), Outcome("loaded", 2, 0)),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1) + _police(P2).split(b"\n", 1)[1].replace(b"\n", b"\r\n"),
        Outcome("loaded", 2, 0),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1, P2).replace(b"SMITH", b"SMI\rTH", 1),  # a lone CR, unquoted
        Outcome("loaded", 1, 1, cause="malformed CSV"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        gzip.compress(_police(P1)),
        Outcome("rejected", cause="gzip-compressed"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _workbook(_cts_sheet),
        Outcome("rejected", cause="a ZIP archive"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1, d.police_row(2, SURNAME="SM#ITH")).replace(b"SM#ITH", b"SM\xffITH"),
        Outcome("loaded", 1, 1, cause="bytes not valid utf-8"),
    ),
    (
        "police",
        "incidents_{p}.csv",
        _police(P1, [*P2, "extra"]),
        Outcome("loaded", 1, 1, cause="expected 12 fields, found 13"),
    ),
    # Pipe-delimited (acute trust)
    ("acute_trust", "ae_attendances_{p}.txt", _acute(d.acute_row(1)), Outcome("loaded", 1, 0)),
    (
        "acute_trust",
        "ae_attendances_{p}.txt",
        _acute(d.acute_row(1), delimiter=","),
        Outcome("rejected", cause="wrong delimiter: the header is a single field (it contains ','"),
    ),
    (
        "acute_trust",
        "ae_attendances_{p}.txt",
        _acute(d.acute_row(1, ADDRESS="Flat 2 | Low Street")),
        Outcome("loaded", 1, 0),
    ),
    (
        "acute_trust",
        "ae_attendances_{p}.txt",
        _acute(d.acute_row(1), d.acute_row(2, DOB="1980-02-01")),
        Outcome("loaded", 1, 1, cause="date"),
    ),
    # XLSX (revenues and benefits)
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _workbook(_cts_sheet),
        Outcome("loaded", 2, 0),
    ),
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _workbook(lambda w: (w.create_sheet("Notes").append(["read me"]), _cts_sheet(w))),
        Outcome("loaded", 2, 0),
    ),
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _workbook(_formulas),
        Outcome("loaded", 1, 1, cause="'Weekly Award' (cell K3) holds a formula without a cached"),
    ),
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _workbook(_merged),
        Outcome("loaded", 2, 1),
    ),
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _workbook(lambda w: _cts_sheet(w, "Sheet1")),
        Outcome("rejected", cause="no worksheet 'CTS' (found Sheet1)"),
    ),
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _workbook(lambda w: w.create_sheet("CTS")),
        Outcome("rejected", cause="worksheet 'CTS' is empty"),
    ),
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _csv_text(d.CTS_HEADER, []).encode(),
        Outcome("rejected", cause="not a readable XLSX workbook"),
    ),
    (
        "revenues_benefits",
        "council_tax_support_{p}.xlsx",
        _workbook(_cts_sheet)[:1500],
        Outcome("rejected", cause="not a readable XLSX workbook"),
    ),
    # JSON (housing provider)
    ("housing_provider", "tenancies_{p}.json", _tenancies(d.tenancy(1)), Outcome("loaded", 1, 0)),
    (
        "housing_provider",
        "tenancies_{p}.json",
        _tenancies(d.tenancy(1), d.tenancy(2)).replace(b"Patel", b"Pa\\ud800tel", 1),
        Outcome("loaded", 1, 1, cause="lone surrogate"),
    ),
    (
        "housing_provider",
        "tenancies_{p}.json",
        ('{"tenancies": ' + _deep_json(100_000) + "}").encode(),
        Outcome("rejected", cause="nested too deeply"),
    ),
    ("housing_provider", "tenancies_{p}.json", _tenancies(), Outcome("loaded", 0, 0)),
    (
        "housing_provider",
        "tenancies_{p}.json",
        _tenancies(d.tenancy(1))[:-7],
        Outcome("rejected", cause="not valid JSON"),
    ),
    (
        "housing_provider",
        "tenancies_{p}.json",
        json.dumps([d.tenancy(1)]).encode(),
        Outcome("rejected", cause="expected a JSON object at the top level, found list"),
    ),
    (
        "housing_provider",
        "tenancies_{p}.json",
        gzip.compress(_tenancies(d.tenancy(1))),
        Outcome("rejected", cause="gzip-compressed"),
    ),
    (
        "housing_provider",
        "tenancies_{p}.json",
        _tenancies(d.tenancy(1), "T2"),
        Outcome("loaded", 1, 1, cause="expected a JSON object, found str"),
    ),
    # NDJSON (home sensors)
    (
        "home_sensors",
        "sensor_readings_{p}.ndjson",
        _sensors(d.sensor_line(1), d.sensor_line(2)),
        Outcome("loaded", 2, 0),
    ),
    (
        "home_sensors",
        "sensor_readings_{p}.ndjson",
        _sensors(d.sensor_line(1), d.sensor_line(2)[:-9]),
        Outcome("loaded", 1, 1, cause="not valid JSON"),
    ),
    (
        "home_sensors",
        "sensor_readings_{p}.ndjson",
        _sensors(d.sensor_line(1), d.sensor_line(2, sensor="S\ud800")),
        Outcome("loaded", 1, 1, cause="lone surrogate"),
    ),
    (
        "home_sensors",
        "sensor_readings_{p}.ndjson",
        _sensors(d.sensor_line(1), _deep_json(100_000)),
        Outcome("loaded", 1, 1, cause="nested too deeply"),
    ),
    (
        "home_sensors",
        "sensor_readings_{p}.ndjson",
        _sensors(d.sensor_line(1), "", "   ", d.sensor_line(2)),
        Outcome("loaded", 2, 0),
    ),
    (
        "home_sensors",
        "sensor_readings_{p}.ndjson",
        gzip.compress(_sensors(d.sensor_line(1))),
        Outcome("rejected", cause="gzip-compressed"),
    ),
]


def period(k: int) -> str:
    return f"{2020 + k // 12}-{k % 12 + 1:02d}"


def write_corpus(landing: Path) -> dict[str, Outcome]:
    """Land every kind, each as its own period of its body; returns delivery id -> outcome."""
    expected: dict[str, Outcome] = {}
    count: dict[str, int] = {}
    for body, pattern, content, outcome in KINDS:
        k = count[body] = count.get(body, -1) + 1
        delivered = (dt.date.fromisoformat(f"{period(k)}-01") + dt.timedelta(days=40)).isoformat()
        name = pattern.format(p=period(k))
        (d.folder(landing, body, delivered) / name).write_bytes(content)
        expected[f"{body}/{delivered}/{name}"] = outcome
    return expected
