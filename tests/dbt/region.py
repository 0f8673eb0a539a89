"""A tiny handcrafted region for the dbt tests: known people, households, places and counts.

Raw tables are created by ``ingestion.raw_tables`` exactly as the loader makes them; rows are
inserted directly with their tokens (no files, no HMAC), each delivery recorded in the ledger
as loaded (its key on the rows, as the loader writes them), and the linkage tables are filled with
a simple deterministic rule (people A, B and C are keyed by identity resolution, D is not, so
D's records get an interim key).

What the marts must show (as-of date 2026-03-31, the latest contact):
- person A: police, children's social care, schools, acute trust (4 bodies);
- person B: police, adult social care (2 bodies), same home as A (UPRN 100000000001);
- person C: children's social care, adult social care, revenues (3 bodies in the window; a police
  incident of 2024-12 is outside it);
- person D (interim key): police, children's social care, acute trust (3 bodies);
- household at 100000000001: A and B plus a housing repair, 6 bodies.
- LSOA E01000002 in 2026-03: 12 / 3 / 15 people in hardship in the three distance bands from
  the one betting shop; the 3 is suppressed, and the 12 with it (secondary suppression).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from ingestion.raw_tables import create_ingestion_tables
from ingestion.spec import load_specs
from linkage.property_keys import write_property_keys
from linkage.store import LINKAGE_DDL
from quality.perturbation import write_perturbation_table

AS_OF = date(2026, 3, 31)
HOME_AB = "100000000001"
FLAT_SENSOR = "100000000002"
HOUSE_C = "100000000003"
BETTING_SHOP = "100000000004"
LSOA_1 = "E01000001"
LSOA_2 = "E01000002"
HARDSHIP_BANDS = {"0000-0399m": 12, "0400-0799m": 3, "0800-1599m": 15}
PERSON_KEYS = {"A": "P-A", "B": "P-B", "C": "P-C"}  # D is left to the interim key


def token(body: str, person: str) -> str:
    return f"tok-{body}-{person}"


class Loader:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.rows: dict[tuple[str, str, str], int] = {}
        self.keys: dict[str, int] = {}

    def delivery_key(self, delivery: str, body: str, entity: str, period: str) -> int:
        """The ledger's key of a delivery, recorded as loaded the first time it is named (by this
        loader or an earlier one on the same database)."""
        if delivery not in self.keys:
            self.conn.execute(
                "insert into ingestion.deliveries (delivery_id, body, entity, period,"
                " delivery_date, file_name, file_sha256, bytes, status, finished_at)"
                " values (%s, %s, %s, %s, '2026-04-02', %s, %s, 0, 'loaded', now())"
                " on conflict (delivery_id) do nothing",
                (delivery, body, entity, period, delivery.split("/")[2], "0" * 64),
            )
            self.keys[delivery] = self.conn.execute(
                "select delivery_key from ingestion.deliveries where delivery_id = %s",
                (delivery,),
            ).fetchone()[0]
        return self.keys[delivery]

    def insert(self, body: str, entity: str, period: str, **values: Any) -> tuple[str, int]:
        key = (body, entity, period)
        self.rows[key] = self.rows.get(key, 0) + 1
        delivery = f"{body}/2026-04-02/{entity}_{period}.csv"
        row = {
            "_delivery_key": self.delivery_key(delivery, body, entity, period),
            "_period": period,
            "_source_row_number": self.rows[key],
            **values,
        }
        self.conn.execute(
            sql.SQL("insert into {}.{} ({}) values ({})").format(
                sql.Identifier(f"raw_{body}"),
                sql.Identifier(entity),
                sql.SQL(", ").join(sql.Identifier(c) for c in row),
                sql.SQL(", ").join(sql.Placeholder() for _ in row),
            ),
            list(row.values()),
        )
        return delivery, self.rows[key]

    def address(self, body: str, entity: str, where: tuple[str, int], person: str, uprn: str):
        self.conn.execute(
            "insert into linkage.address_xref (body, entity, _delivery_id, _first_row_number,"
            " person_ref_token, uprn, method, score)"
            " values (%s, %s, %s, %s, %s, %s, 'address_match', 1.0)",
            (body, entity, where[0], where[1], token(body, person), uprn),
        )


def gazetteer_row(uprn: str, lsoa: str, easting: float, northing: float, kind: str = "house"):
    return {
        "uprn": uprn,
        "address_line": f"{uprn[-3:]}  high street ",
        "town": "EXAMPLETON",
        "postcode": "ex1  2ab",
        "property_type": kind,
        "lsoa_code": lsoa.lower(),
        "lsoa_name": f"Area {lsoa[-1]}",
        "ward_code": "W0000001",
        "ward_name": "Central",
        "local_authority_code": "L0000001",
        "local_authority_name": "Exampleton",
        "easting": easting,
        "northing": northing,
    }


def load_small_region(conn: psycopg.Connection) -> None:
    """Create every raw table, the linkage tables, and fill them with the known region."""
    create_ingestion_tables(conn, load_specs())
    conn.execute(LINKAGE_DDL)
    load = Loader(conn)

    # Reference: gazetteer and deprivation (one snapshot).
    places = [
        gazetteer_row(HOME_AB, LSOA_1, 1000, 1000),
        gazetteer_row(FLAT_SENSOR, LSOA_1, 1100, 1000, "flat"),
        gazetteer_row(HOUSE_C, LSOA_1, 5000, 5000),
        gazetteer_row(BETTING_SHOP, LSOA_1, 1000, 1200, "commercial"),
    ]
    hardship_homes: list[tuple[str, str]] = []
    northings = {"0000-0399m": 1500, "0400-0799m": 1800, "0800-1599m": 2400}
    for band, count in HARDSHIP_BANDS.items():
        for i in range(count):
            uprn = f"2000{len(hardship_homes):08d}"
            places.append(gazetteer_row(uprn, LSOA_2, 1000 + i, northings[band]))
            hardship_homes.append((uprn, band))
    for place in places:
        load.insert("reference", "gazetteer", "2026-01", **place)
    load.insert(
        "reference",
        "deprivation",
        "2026-01",
        lsoa_code=LSOA_1,
        imd_score=35.2,
        imd_rank=1,
        imd_decile=1,
        population=1500,
    )
    load.insert(
        "reference",
        "deprivation",
        "2026-01",
        lsoa_code=LSOA_2,
        imd_score=12.0,
        imd_rank=2,
        imd_decile=6,
        population=1600,
    )

    # Licensing: the betting shop and a pub.
    load.insert(
        "licensing",
        "premises_licences",
        "2026-03",
        licence_number="lic/1",
        premises_name="  Lucky   Star ",
        licence_type="betting_shop",
        licence_holder_token="tok-holder-1",
        uprn=BETTING_SHOP,
        postcode="ex12ab",
        opening_date=date(2020, 1, 1),
        status="granted",
    )
    load.insert(
        "licensing",
        "premises_licences",
        "2026-03",
        licence_number="lic/2",
        premises_name="The Crown",
        licence_type="pub",
        licence_holder_token="tok-holder-2",
        uprn=HOUSE_C,
        postcode="EX1 2AB",
        opening_date=date(2019, 1, 1),
        status="granted",
    )

    # Person A: police, children's social care, schools, acute trust.
    at = load.insert(
        "police",
        "incidents",
        "2026-03",
        incident_no="inc-1",
        nominal_id_token=token("police", "A"),
        dob_year=2012,
        sex="M",
        incident_at=datetime(2026, 3, 5, 20, 0),
        incident_type="domestic_abuse",
        involvement="victim",
        risk_grade="high",
    )
    load.address("police", "incidents", at, "A", HOME_AB)
    load.insert(
        "childrens_social_care",
        "referrals",
        "2026-02",
        referral_id="ref-1",
        child_id_token=token("childrens_social_care", "A"),
        dob_year=2012,
        gender="M",
        uprn=HOME_AB,
        referral_date=date(2026, 2, 10),
        referral_source="police",
        primary_need="abuse_neglect",
    )
    load.insert(
        "childrens_social_care",
        "child_protection_plans",
        "2026-03",
        plan_id="cpp-1",
        child_id_token=token("childrens_social_care", "A"),
        start_date=date(2026, 3, 20),
        end_date=None,
        category="neglect",
    )
    load.insert(
        "schools",
        "exclusions",
        "2026-01",
        exclusion_id="exc-1",
        upn_token=token("schools", "A"),
        school_urn="100100",
        start_date=date(2026, 1, 15),
        exclusion_type="suspension",
        sessions=4,
        reason="persistent_disruption",
    )
    load.insert(
        "schools",
        "attendance",
        "2026-03",
        upn_token=token("schools", "A"),
        dob_year=2012,
        gender="M",
        school_urn="100100",
        month="2026-03",
        sessions_possible=40,
        sessions_attended=30,
        unauthorised_absences=6,
    )
    at = load.insert(
        "acute_trust",
        "ae_attendances",
        "2026-03",
        attendance_id="ae-1",
        mrn_token=token("acute_trust", "A"),
        nhs_number_token="tok-nhs-A",
        nhs_number_is_valid=True,
        date_of_birth_year=2012,
        sex="1",
        arrived_at=datetime(2026, 3, 1, 9, 30),
        diagnosis_group="respiratory",
        acuity=3,
        disposal="discharged",
    )
    load.address("acute_trust", "ae_attendances", at, "A", HOME_AB)  # the attendance's address

    # Person B: police and adult social care, same home as A; lead tenant there.
    at = load.insert(
        "police",
        "incidents",
        "2026-03",
        incident_no="inc-1",
        nominal_id_token=token("police", "B"),
        dob_year=1985,
        sex="F",
        incident_at=datetime(2026, 3, 5, 20, 0),
        incident_type="domestic_abuse",
        involvement="suspect",
        risk_grade="high",
    )
    load.address("police", "incidents", at, "B", HOME_AB)
    load.insert(
        "adult_social_care",
        "care_contacts",
        "2026-02",
        contact_id="asc-1",
        client_ref_token=token("adult_social_care", "B"),
        date_of_birth_year=1985,
        sex="Female",
        nhs_number_token="tok-nhs-bad",
        nhs_number_is_valid=False,
        uprn=HOME_AB,
        contact_date=date(2026, 2, 1),
        contact_type="assessment",
        service="none",
    )
    load.insert(
        "housing_provider",
        "tenancies",
        "2026-03",
        tenancy_ref="t-1",
        tenant_id_token=token("housing_provider", "B"),
        date_of_birth_year=1985,
        uprn=HOME_AB,
        start_date=date(2020, 5, 1),
        end_date=None,
        tenure_type="assured",
        household_size=3,
    )
    load.insert(
        "housing_provider",
        "repairs",
        "2026-02",
        job_id="job-1",
        uprn=HOME_AB,
        reported_at=datetime(2026, 2, 20, 10, 0),
        category="plumbing",
        priority="routine",
        completed_at=None,
    )

    # Person C: police long ago (outside the window), then CSC, ASC, revenues.
    load.insert(
        "police",
        "incidents",
        "2024-12",
        incident_no="inc-0",
        nominal_id_token=token("police", "C"),
        dob_year=2009,
        sex="F",
        incident_at=datetime(2024, 12, 1, 12, 0),
        incident_type="missing_person",
        involvement="missing_person",
        risk_grade="medium",
    )
    load.insert(
        "childrens_social_care",
        "referrals",
        "2026-01",
        referral_id="ref-2",
        child_id_token=token("childrens_social_care", "C"),
        dob_year=2009,
        gender="F",
        uprn=HOUSE_C,
        referral_date=date(2026, 1, 1),
        referral_source="school",
        primary_need="family_stress",
    )
    load.insert(
        "adult_social_care",
        "care_contacts",
        "2026-02",
        contact_id="asc-2",
        client_ref_token=token("adult_social_care", "C"),
        date_of_birth_year=2009,
        sex="Female",
        nhs_number_token=None,
        nhs_number_is_valid=None,
        uprn=HOUSE_C,
        contact_date=date(2026, 2, 2),
        contact_type="information_advice",
        service="none",
    )
    load.insert(
        "revenues_benefits",
        "arrears",
        "2026-03",
        account_ref="acc-1",
        claimant_id_token=token("revenues_benefits", "C"),
        date_of_birth_year=2009,
        uprn=HOUSE_C,
        balance=420.50,
        months_in_arrears=3,
        recovery_stage="summons",
        snapshot_date=AS_OF,
    )

    # Person D (not keyed by identity resolution): police, CSC, acute trust.
    load.insert(
        "police",
        "incidents",
        "2026-01",
        incident_no="inc-2",
        nominal_id_token=token("police", "D"),
        dob_year=1970,
        sex="M",
        incident_at=datetime(2026, 1, 8, 1, 0),
        incident_type="violence",
        involvement="victim",
        risk_grade="standard",
    )
    load.insert(
        "childrens_social_care",
        "referrals",
        "2026-01",
        referral_id="ref-3",
        child_id_token=token("childrens_social_care", "D"),
        dob_year=1970,
        gender="U",
        uprn=None,
        referral_date=date(2026, 1, 9),
        referral_source="health",
        primary_need="other",
    )
    load.insert(
        "acute_trust",
        "ae_attendances",
        "2026-01",
        attendance_id="ae-2",
        mrn_token=token("acute_trust", "D"),
        nhs_number_token=None,
        nhs_number_is_valid=False,
        date_of_birth_year=1970,
        sex="9",
        arrived_at=datetime(2026, 1, 8, 2, 0),
        diagnosis_group="injury",
        acuity=2,
        disposal="admitted",
    )

    # Hardship: one council tax support claimant per home in LSOA 2.
    for i, (uprn, _band) in enumerate(hardship_homes):
        load.insert(
            "revenues_benefits",
            "council_tax_support",
            "2026-03",
            claim_ref=f"cts-{i}",
            claimant_id_token=token("revenues_benefits", f"H{i}"),
            date_of_birth_year=1980,
            uprn=uprn,
            award_start=date(2025, 4, 1),
            weekly_award=12.5,
            status="active",
        )

    # Home sensor in the flat: two damp days in March, one dry day in February.
    for day, humidity, period in (
        (date(2026, 3, 1), 82, "2026-03"),
        (date(2026, 3, 2), 78, "2026-03"),
        (date(2026, 2, 27), 45, "2026-02"),
    ):
        for quarter in range(96):
            load.insert(
                "home_sensors",
                "sensor_readings",
                period,
                sensor_id="s-1",
                uprn=FLAT_SENSOR,
                reading_at=datetime.combine(day, datetime.min.time())
                + timedelta(minutes=15 * quarter),
                temperature_c=17.5,
                relative_humidity=humidity,
                battery_pct=90,
            )
    load.insert(
        "housing_provider",
        "repairs",
        "2026-03",
        job_id="job-2",
        uprn=FLAT_SENSOR,
        reported_at=datetime(2026, 3, 3, 9, 0),
        category="damp_mould",
        priority="urgent",
        completed_at=None,
    )

    # Identity resolution, by a deterministic rule: A, B and C have regional keys; D has none.
    for person, key in PERSON_KEYS.items():
        for body in (
            "police",
            "childrens_social_care",
            "schools",
            "acute_trust",
            "adult_social_care",
            "revenues_benefits",
            "housing_provider",
        ):
            conn.execute(
                "insert into linkage.person_xref (body, person_ref_token, person_key, method,"
                " match_probability, run_id) values (%s, %s, %s, 'nhs_number', 1.0, 0)",
                (body, token(body, person), key),
            )
    # The keyed property keys, as the linkage step writes them (with the session's demo key).
    write_property_keys(conn)
    write_perturbation_table(conn)
    conn.commit()
