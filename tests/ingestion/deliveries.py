"""Small delivered files for ingestion tests, written the way each body's system writes them."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from openpyxl import Workbook

POLICE_HEADER = [
    "INCIDENT_NO", "NOMINAL_ID", "SURNAME", "FORENAME", "DOB", "SEX", "ADDRESS", "POSTCODE",
    "INCIDENT_DATETIME", "INCIDENT_TYPE", "ROLE", "RISK",
]  # fmt: skip
ACUTE_HEADER = [
    "ATTENDANCE_ID", "MRN", "NHS_NUMBER", "FORENAME", "SURNAME", "DOB", "SEX", "ADDRESS",
    "POSTCODE", "ARRIVAL", "DIAGNOSIS_GROUP", "ACUITY", "DISPOSAL",
]  # fmt: skip
ASC_HEADER = [
    "contact_id", "client_ref", "first_name", "last_name", "date_of_birth", "sex", "nhs_number",
    "address", "postcode", "uprn", "contact_date", "contact_type", "service",
]  # fmt: skip
CTS_HEADER = [
    "Claim Ref", "Claimant ID", "Forename", "Surname", "DOB", "NINO", "Address", "Postcode",
    "UPRN", "Award Start", "Weekly Award", "Status",
]  # fmt: skip
VALID_NHS = "9434765919"  # passes the modulus-11 check


def folder(landing: Path, body: str, delivered: str) -> Path:
    path = landing / body / delivered
    path.mkdir(parents=True, exist_ok=True)
    return path


def police_row(i: int, **changes: str) -> list[str]:
    row = {
        "INCIDENT_NO": f"INC{i:05d}",
        "NOMINAL_ID": f"NOM{i:05d}",
        "SURNAME": "SMITH",
        "FORENAME": "JOHN",
        "DOB": "01-02-1980",
        "SEX": "M",
        "ADDRESS": f"{i} High Street, Townley",
        "POSTCODE": "AB1 2CD",
        "INCIDENT_DATETIME": "03/01/2026 10:15",
        "INCIDENT_TYPE": "violence",
        "ROLE": "victim",
        "RISK": "high",
    }
    row.update(changes)
    return [row[h] for h in POLICE_HEADER]


def write_csv(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def police_file(landing: Path, delivered: str, period: str, rows: list[list[str]]) -> Path:
    target = folder(landing, "police", delivered) / f"incidents_{period}.csv"
    return write_csv(target, POLICE_HEADER, rows)


def acute_row(i: int, nhs: str = VALID_NHS, **changes: str) -> list[str]:
    row = {
        "ATTENDANCE_ID": f"ATT{i:05d}",
        "MRN": f"MRN{i:05d}",
        "NHS_NUMBER": nhs,
        "FORENAME": "Ann",
        "SURNAME": "Jones",
        "DOB": "19800201",
        "SEX": "2",
        "ADDRESS": "2 Low Street",
        "POSTCODE": "AB1 2CE",
        "ARRIVAL": "2026-01-05 22:10:00",
        "DIAGNOSIS_GROUP": "respiratory",
        "ACUITY": "3",
        "DISPOSAL": "discharged",
    }
    row.update(changes)
    return [row[h] for h in ACUTE_HEADER]


def asc_row(i: int, nhs: str = VALID_NHS) -> list[str]:
    return [
        f"C{i}", f"CL{i}", "Ann", "Jones", "1980-02-01", "Female", nhs, "2 Low Street",
        "AB1 2CE", "100012345678", "2026-01-09", "assessment", "home_care",
    ]  # fmt: skip


def write_xlsx(path: Path, sheet: str, header: list[str], rows: list[list[object]]) -> Path:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(header)
    for row in rows:
        worksheet.append(row)
    workbook.save(path)
    return path


def cts_row(i: int, dob: object = dt.datetime(1975, 6, 30), weekly: object = 12.5) -> list[object]:
    return [
        f"CTS{i}", f"RB{i}", "Mary", "Brown", dob, "QQ123456C", "5 Mill Road", "AB2 3EF",
        100012345600 + i, dt.datetime(2025, 4, 1), weekly, "active",
    ]  # fmt: skip


def tenancy(i: int, **changes: object) -> dict:
    record = {
        "tenancyRef": f"T{i}",
        "tenant": {
            "id": f"TEN{i}",
            "name": {"given": "Sam", "family": "Patel"},
            "dateOfBirth": "1990-03-04",
            "phone": "07700 900123",
        },
        "property": {"uprn": f"1000{i}", "address": "9 Oak Grove", "postcode": "AB3 4GH"},
        "startDate": "2024-05-01",
        "endDate": None,
        "tenureType": "assured",
        "householdSize": 3,
    }
    record.update(changes)
    return record


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def sensor_line(i: int, **changes: object) -> str:
    record = {
        "sensor": f"S{i}",
        "uprn": "100012345678",
        "ts": f"2026-01-01T00:{i % 60:02d}:00Z",
        "temp": 18.5,
        "rh": 71.2,
        "bat": 88,
    }
    record.update(changes)
    return json.dumps(record)
