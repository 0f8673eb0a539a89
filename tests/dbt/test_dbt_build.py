"""The dbt project built once on the small region (tests/dbt/region.py): layout, contracts,
documentation, and the marts' answers on data whose answers are known."""

from __future__ import annotations

import pytest

from ingestion.spec import load_specs
from jigsaw.paths import dbt_project_dir
from quality.manifest import marts
from quality.purpose import check_purpose
from tests.dbt import region

LAYER_SCHEMAS = {"staging": "v", "intermediate": "r", "core": "r", "marts_build": "r"}
MART_PURPOSES = {
    "safeguarding",
    "early_intervention",
    "service_planning",
    "public_health",
    "housing_condition",
    "financial_inclusion",
    "research",
}
IDENTIFYING_FRAGMENTS = ("token", "nhs", "birth", "postcode", "name", "address", "dob")
# Names of areas are not personal (quality/privacy.py does not match them either).
AREA_NAMES = {"lsoa_name", "ward_name", "local_authority_name"}


def model_files(layer: str) -> set[str]:
    """The models a layer's folder holds (models/<layer>/**/*.sql): what the manifest must have."""
    return {path.stem for path in (dbt_project_dir() / "models" / layer).rglob("*.sql")}


def models(manifest: dict) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "jigsaw"
    ]


def relation_columns(db, schema: str, name: str) -> dict[str, str]:
    rows = db.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute as a
        join pg_class as c on c.oid = a.attrelid
        join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, name),
    ).fetchall()
    return dict(rows)


def test_build_ran_models_unit_tests_and_data_tests(dbt_build):
    kinds = {r["unique_id"].split(".")[0] for r in dbt_build.results}
    assert {"model", "test", "unit_test"} <= kinds
    failed = [r["unique_id"] for r in dbt_build.results if r["status"] not in ("success", "pass")]
    assert not failed


def test_models_land_in_their_layer_schema_with_their_materialisation(dbt_build, db):
    for node in models(dbt_build.manifest):
        if node["config"]["materialized"] == "ephemeral":
            continue
        folder = node["fqn"][1]
        schema = {"marts": "marts_build"}.get(folder, folder)
        assert node["schema"] == schema, node["name"]
        kind = db.execute(
            "select c.relkind from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relname = %s",
            (schema, node["name"]),
        ).fetchone()
        assert kind is not None, f"{schema}.{node['name']} was not built"
        # The layer's materialisation, unless the model sets its own (int_service_contacts_unioned
        # is a view: fct_service_contact's post-hook reads it).
        configured = {"view": "v", "table": "r", "incremental": "r"}[node["config"]["materialized"]]
        assert kind[0] == configured, node["name"]
        if node["config"]["materialized"] != "view" or schema == "staging":
            assert kind[0] == LAYER_SCHEMAS[schema], node["name"]
        else:
            assert node["name"] == "int_service_contacts_unioned", node["name"]


def test_nothing_is_built_into_the_published_marts_schema(dbt_build, db):
    published = db.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts'"
    ).fetchone()[0]
    assert published == 0
    schemas = {
        row[0]
        for row in db.execute(
            "select schema_name from information_schema.schemata"
            " where schema_name like '%staging%' or schema_name like '%core%'"
            " or schema_name like '%marts%' or schema_name like '%intermediate%'"
        )
    }
    assert schemas == {"staging", "intermediate", "core", "marts_build"}


def test_core_and_marts_contracts_are_enforced_with_the_built_types(dbt_build, db):
    checked = set()
    for node in models(dbt_build.manifest):
        if node["fqn"][1] not in ("core", "marts"):
            continue
        assert node["config"]["contract"]["enforced"] is True, node["name"]
        built = relation_columns(db, node["schema"], node["name"])
        declared = {name: col["data_type"] for name, col in node["columns"].items()}
        assert declared == built, node["name"]
        checked.add(node["name"])
    assert checked == model_files("core") | model_files("marts")


def test_every_model_and_column_is_described(dbt_build, db):
    for node in models(dbt_build.manifest):
        assert node["description"].strip(), f"{node['name']} has no description"
        for name, column in node["columns"].items():
            assert column["description"].strip(), f"{node['name']}.{name} has no description"
        if node["config"]["materialized"] != "ephemeral":
            built = relation_columns(db, node["schema"], node["name"])
            assert set(built) == set(node["columns"]), f"{node['name']}: undocumented columns"
    for source in dbt_build.manifest["sources"].values():
        assert source["description"].strip()
        assert all(c["description"].strip() for c in source["columns"].values())


def test_descriptions_are_persisted_to_the_database(dbt_build, db):
    table_comment = db.execute(
        "select obj_description('marts_build.multi_agency_persons'::regclass, 'pg_class')"
    ).fetchone()[0]
    assert table_comment and "three or more bodies" in table_comment
    column_comment = db.execute(
        "select col_description('core.dim_person'::regclass, 1)"
    ).fetchone()[0]
    assert column_comment and "person key" in column_comment


def test_table_comments_carry_purpose_and_disclosure_from_meta(dbt_build, db):
    """An analyst reading the database sees under which purpose a table may be used and whether
    it is aggregate or record level (macros/persist_docs.sql, from each model's meta)."""
    for node in models(dbt_build.manifest):
        meta = node["config"]["meta"]
        if node["fqn"][1] != "marts":
            continue
        comment = db.execute(
            "select obj_description(%s::regclass, 'pg_class')", (f"marts_build.{node['name']}",)
        ).fetchone()[0]
        assert comment.startswith(f"Purpose: {meta['purpose']}."), (node["name"], comment)
        disclosure = meta["disclosure"].replace("_", " ")
        assert f"Disclosure: {disclosure}." in comment, (node["name"], comment)


def test_marts_declare_purpose_owner_and_disclosure(dbt_build):
    marts = [n for n in models(dbt_build.manifest) if n["fqn"][1] == "marts"]
    assert {node["name"] for node in marts} == model_files("marts")
    for node in marts:
        meta = node["config"]["meta"]
        assert meta["purpose"] in MART_PURPOSES, node["name"]
        assert meta["owner"], node["name"]
        assert meta["disclosure"] in ("aggregate", "record_level"), node["name"]


def test_every_mart_reaches_only_bodies_that_permit_its_purpose(dbt_build):
    specs = load_specs()
    reports = {
        m.name: check_purpose(dbt_build.manifest, m, specs) for m in marts(dbt_build.manifest)
    }
    assert set(reports) == model_files("marts")
    for name, report in reports.items():
        assert report.passed and not report.excepted, (name, report.violations, report.excepted)
    # Purpose-limited marts read their people through purpose-limited paths only.
    assert reports["betting_hardship_by_area"].sources == [
        "linkage",
        "quality",
        "raw_housing_provider",
        "raw_licensing",
        "raw_reference",
        "raw_revenues_benefits",
    ]
    assert "raw_police" not in reports["damp_risk_by_property"].sources
    assert "raw_police" not in reports["damp_evidence_by_property_month"].sources
    assert reports["hardship_by_property_month"].sources == [
        "linkage",
        "raw_housing_provider",
        "raw_licensing",
        "raw_reference",
        "raw_revenues_benefits",
    ]
    for name in ("multi_agency_persons", "multi_agency_households"):
        assert "raw_home_sensors" not in reports[name].sources


def test_marts_hold_no_direct_identifiers(dbt_build, db):
    columns = db.execute(
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'marts_build'"
    ).fetchall()
    assert columns
    leaks = [
        (t, c)
        for t, c in columns
        if c not in AREA_NAMES and any(f in c for f in IDENTIFYING_FRAGMENTS)
    ]
    assert not leaks


def test_staging_keeps_nhs_number_tokens_only_when_the_check_digit_is_valid(db):
    rows = dict(
        db.execute(
            "select attendance_id, nhs_number_token from staging.stg_acute_trust__ae_attendances"
        ).fetchall()
    )
    assert rows == {"ae-1": "tok-nhs-A", "ae-2": None}
    invalid = db.execute(
        "select nhs_number_token, nhs_number_is_valid"
        " from staging.stg_adult_social_care__care_contacts where contact_id = 'asc-1'"
    ).fetchone()
    assert invalid == (None, False)


def test_staging_standardises_codes_names_postcodes_and_uprns(db):
    sexes = {
        r[0] for r in db.execute("select sex_code from staging.stg_acute_trust__ae_attendances")
    }
    assert sexes == {"M", "U"}
    asc = {
        r[0]
        for r in db.execute("select sex_code from staging.stg_adult_social_care__care_contacts")
    }
    assert asc == {"F"}
    premises = db.execute(
        "select licence_number, premises_name, postcode"
        " from staging.stg_licensing__premises_licences order by licence_number"
    ).fetchall()
    assert premises == [("LIC/1", "Lucky Star", "EX1 2AB"), ("LIC/2", "The Crown", "EX1 2AB")]
    gazetteer = db.execute(
        "select address_line, town, lsoa_code, postcode_district"
        " from staging.stg_reference__gazetteer where uprn = %s",
        (region.HOME_AB,),
    ).fetchone()
    assert gazetteer == ("001 high street", "Exampleton", region.LSOA_1, "EX1")


def test_person_keys_come_from_linkage_else_an_interim_key_per_body(db):
    keys = {
        r[0]: r[1]
        for r in db.execute(
            "select person_ref_token, person_key from core.fct_service_contact"
            " where person_ref_token is not null"
        )
    }
    assert keys[region.token("police", "A")] == "P-A"
    assert keys[region.token("schools", "A")] == "P-A"
    interim = {
        keys[region.token(b, "D")] for b in ("police", "childrens_social_care", "acute_trust")
    }
    assert len(interim) == 3 and all(k.startswith("interim:") for k in interim)
    methods = dict(
        db.execute("select person_key, person_key_method from core.dim_person").fetchall()
    )
    assert methods["P-A"] == "linkage"
    assert all(methods[k] == "interim" for k in interim)


def test_multi_agency_persons_on_the_known_region(db):
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "select person_key, body_count, bodies, contact_count, as_of_date"
            " from marts_build.multi_agency_persons"
        )
    }
    assert set(rows) == {"P-A", "P-C"}
    assert rows["P-A"][:3] == (4, "acute_trust,childrens_social_care,police,schools", 5)
    # C's police incident of 2024-12 is outside the 12 months to the latest contact.
    assert rows["P-C"][:3] == (3, "adult_social_care,childrens_social_care,revenues_benefits", 3)
    assert rows["P-A"][3] == region.AS_OF


def test_multi_agency_households_on_the_known_region(db):
    rows = dict(
        db.execute(
            "select keys.uprn, households.bodies from marts_build.multi_agency_households"
            " as households join linkage.property_keys as keys using (property_key)"
        ).fetchall()
    )
    assert rows == {
        region.HOME_AB: "acute_trust,adult_social_care,childrens_social_care,housing_provider,"
        "police,schools",
        region.HOUSE_C: "adult_social_care,childrens_social_care,revenues_benefits",
    }
    persons = db.execute(
        "select persons_known from marts_build.multi_agency_households"
        " where property_key = (select property_key from linkage.property_keys where uprn = %s)",
        (region.HOME_AB,),
    ).fetchone()[0]
    assert persons == 2
    # The household key is made from the keyed property key, not from the public UPRN.
    key = db.execute(
        "select household_key from marts_build.multi_agency_households"
        " where property_key = (select property_key from linkage.property_keys where uprn = %s)",
        (region.HOME_AB,),
    ).fetchone()[0]
    unkeyed = db.execute(
        "select md5('household:' || %s || ':' || to_char(max(month_start), 'YYYY-MM'))"
        " from core.dim_household where uprn = %s",
        (region.HOME_AB, region.HOME_AB),
    ).fetchone()[0]
    assert key is not None and key != unkeyed


def test_hardship_by_area_suppresses_small_counts_and_protects_the_total(db):
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "select distance_band, persons_in_hardship, persons_in_hardship_suppressed,"
            " residents, residents_suppressed, hardship_rate"
            " from marts_build.betting_hardship_by_area where lsoa_code = %s",
            (region.LSOA_2,),
        )
    }
    assert rows["0400-0799m"][:4] == (None, True, None, True)  # 3: primary suppression
    assert rows["0000-0399m"][:4] == (None, True, None, True)  # 12: secondary suppression
    assert rows["0800-1599m"][:4] == (15, False, 15, False)
    assert rows["all"][:4] == (30, False, 30, False)
    assert rows["0000-0399m"][4] is None and rows["0800-1599m"][4] == 1


@pytest.mark.parametrize("measure", ["residents", "persons_in_hardship", "persons_in_arrears"])
def test_no_published_cell_can_be_recovered_from_its_total(db, measure):
    groups = db.execute(
        f"""
        select lsoa_code, month_start,
            count(*) filter (where {measure}_suppressed and distance_band <> 'all'),
            bool_or({measure}_suppressed and distance_band = 'all'),
            count(*) filter (where {measure} between 1 and 9)
        from marts_build.betting_hardship_by_area
        group by lsoa_code, month_start
        """
    ).fetchall()
    assert groups
    for _lsoa, _month, suppressed_cells, total_suppressed, small_published in groups:
        assert small_published == 0
        assert suppressed_cells != 1 or total_suppressed


def test_sensor_days_housing_condition_and_damp_risk(db):
    days = db.execute(
        "select reading_date::text, readings, is_damp_day from core.fct_sensor_reading_daily"
        " order by reading_date"
    ).fetchall()
    assert days == [("2026-02-27", 96, False), ("2026-03-01", 96, True), ("2026-03-02", 96, True)]
    risk = {
        r[0]: r[1:]
        for r in db.execute(
            "select uprn, damp_risk_score, damp_risk_band, respiratory_attendances_12m"
            " from marts_build.damp_risk_by_property"
        )
    }
    # 2 damp days of 3 in the last 3 months, and one damp and mould repair: 0.5 * 2/3 + 0.3 / 3
    assert (float(risk[region.FLAT_SENSOR][0]), risk[region.FLAT_SENSOR][1]) == (0.433, "medium")
    # A's respiratory A&E attendance counts for A's home
    assert risk[region.HOME_AB][2] == 1


def test_early_intervention_features_one_row_per_person_month(db):
    row = db.execute(
        "select bodies_12m, contacts_12m, school_attendance_rate, escalation_next_6_months"
        " from marts_build.early_intervention_features"
        " where person_key = 'P-A' and month_start = '2026-03-01'"
    ).fetchone()
    assert row[0] == 4  # police, children's social care, schools, acute trust (region.py)
    # the incident, the referral, the child protection plan, the exclusion and the A&E
    # attendance; a school's monthly attendance record is not a contact (macros/contributions/
    # schools.sql declares only exclusions as contacts)
    assert row[1] == 5
    assert float(row[2]) == 0.75
    february = db.execute(
        "select escalation_next_6_months, label_is_complete"
        " from marts_build.early_intervention_features"
        " where person_key = 'P-A' and month_start = '2026-02-01'"
    ).fetchone()
    assert february == (True, False)  # high-severity incident and a plan follow in March
