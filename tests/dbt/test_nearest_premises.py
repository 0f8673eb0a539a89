"""int_property_months_banded (nearest betting premises by spatial index search) equals the
exhaustive comparison of every home with every premises open in each month.

On a database of its own: the small region plus homes with a betting shop at exactly each band
boundary (399.9, 400.0, 799.9, 800.0, 1599.9 and 1600.0 m, along an axis and diagonally), a home
whose few nearest premises all close so that the search must walk past them, and a month of
the register with no betting premises at all. The model's rows and the exhaustive answer are
compared with EXCEPT ALL both ways.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from ingestion.pseudonymise import DEMO_KEY, KEY_VARIABLE
from jigsaw import database
from linkage.property_keys import write_property_keys
from tests.dbt import region
from tests.dbt.conftest import run_dbt

MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")  # 2026-04: no betting premises
BOUNDARIES = (399.9, 400.0, 799.9, 800.0, 1599.9, 1600.0)
# Each boundary along the easting axis, and (3-4-5 triangles) diagonally.
OFFSETS = [(d, 0.0) for d in BOUNDARIES] + [(0.6 * d, 0.8 * d) for d in (400.0, 800.0, 1600.0)]

EXHAUSTIVE = """
    with
    homes as (
        select uprn, lsoa_code, easting, northing from core.dim_property
        where is_residential and lsoa_code is not null and easting is not null
    ),
    months as (
        select distinct period_start as month_start
        from staging.stg_licensing__premises_licences
    ),
    premises as (
        select * from intermediate.int_betting_premises_monthly where easting is not null
    ),
    nearest as (
        select
            homes.uprn, months.month_start, homes.lsoa_code,
            min(sqrt(power(homes.easting - premises.easting, 2)
                + power(homes.northing - premises.northing, 2))) as distance_m
        from homes
        cross join months
        left join premises on months.month_start = premises.month_start
        group by homes.uprn, months.month_start, homes.lsoa_code
    )
    select
        uprn, month_start, lsoa_code, round(distance_m::numeric, 1) as distance_m,
        case
            when distance_m is null then 'no_premises'
            when distance_m < 400 then '0000-0399m'
            when distance_m < 800 then '0400-0799m'
            when distance_m < 1600 then '0800-1599m'
            else '1600m_plus'
        end as distance_band
    from nearest
"""
MODEL = (
    "select uprn, month_start, lsoa_code, distance_m, distance_band"
    " from intermediate.int_property_months_banded"
)

# hardship_by_property_month's nearest new premises as every home x every new premises found it.
EXHAUSTIVE_NEW_PREMISES = """
    with
    premises as (select * from intermediate.int_betting_premises_monthly),
    new_premises as (
        select
            licence_number, min(month_start) as opened_month,
            min(easting) as easting, min(northing) as northing
        from premises
        where easting is not null
        group by licence_number
        having min(month_start) > (select min(month_start) from premises)
    ),
    homes as (
        select uprn, easting, northing from core.dim_property
        where is_residential and lsoa_code is not null and easting is not null
    ),
    nearest as (
        select distinct on (homes.uprn)
            homes.uprn, new_premises.opened_month,
            sqrt(power(homes.easting - new_premises.easting, 2)
                + power(homes.northing - new_premises.northing, 2)) as distance_m
        from homes
        cross join new_premises
        order by homes.uprn, distance_m, new_premises.opened_month
    )
    select
        keys.property_key, nearest.opened_month,
        round(nearest.distance_m::numeric, 1)::numeric(9, 1) as distance_m
    from homes
    left join nearest on homes.uprn = nearest.uprn
    inner join staging.stg_linkage__property_keys as keys on homes.uprn = keys.uprn
"""
MART_NEW_PREMISES = (
    "select distinct property_key, nearest_new_premises_opened_month,"
    " nearest_new_premises_distance_m from marts_build.hardship_by_property_month"
)


def _licence(load: region.Loader, period: str, number: str, uprn: str) -> None:
    load.insert(
        "licensing",
        "premises_licences",
        period,
        licence_number=number,
        premises_name=f"Shop {number}",
        licence_type="betting_shop",
        licence_holder_token="tok-holder-9",
        uprn=uprn,
        postcode="EX1 2AB",
        opening_date=date(2020, 1, 1),
        status="granted",
    )


def _place_homes_and_premises(conn: psycopg.Connection) -> None:
    load = region.Loader(conn)
    for body, entity in (("reference", "gazetteer"), ("licensing", "premises_licences")):
        # row numbers continue after the small region's own rows of the same deliveries
        for period, last in conn.execute(
            f"select _period, max(_source_row_number) from raw_{body}.{entity} group by _period"
        ):
            load.rows[(body, entity, period)] = last
    # A home 20 km from the next, each with one shop at a band boundary, open every month but
    # the last; the homes' other premises are all much further away.
    for i, (dx, dy) in enumerate(OFFSETS):
        home, shop = f"3100{i:08d}", f"3200{i:08d}"
        x, y = 100_000.0 + 20_000 * i, 100_000.0
        load.insert(
            "reference", "gazetteer", "2026-01", **region.gazetteer_row(home, region.LSOA_1, x, y)
        )
        load.insert(
            "reference",
            "gazetteer",
            "2026-01",
            **region.gazetteer_row(shop, region.LSOA_1, x + dx, y + dy, "commercial"),
        )
        for period in MONTHS[:3]:
            _licence(load, period, f"edge/{i}", shop)
    # A home with six shops within 600 m open only in January, and one at 1,599.9 m open in
    # January and February: in February every premises nearest to it is closed.
    home = "330000000000"
    x, y = 100_000.0, 300_000.0
    load.insert(
        "reference", "gazetteer", "2026-01", **region.gazetteer_row(home, region.LSOA_1, x, y)
    )
    for i in range(6):
        shop = f"3400{i:08d}"
        load.insert(
            "reference",
            "gazetteer",
            "2026-01",
            **region.gazetteer_row(shop, region.LSOA_1, x + 100 * (i + 1), y, "commercial"),
        )
        _licence(load, "2026-01", f"near/{i}", shop)
    far_shop = "350000000000"
    load.insert(
        "reference",
        "gazetteer",
        "2026-01",
        **region.gazetteer_row(far_shop, region.LSOA_1, x, y - 1599.9, "commercial"),
    )
    for period in MONTHS[:2]:
        _licence(load, period, "far/1", far_shop)
    # A home with premises that opened during the register: two at 500 m (opened in March and
    # in February: the earlier is its nearest new premises) and one at 1,000 m.
    home = "360000000000"
    x, y = 100_000.0, 500_000.0
    load.insert(
        "reference", "gazetteer", "2026-01", **region.gazetteer_row(home, region.LSOA_1, x, y)
    )
    for number, (dx, dy), opened in (
        ("new/1", (500.0, 0.0), 2),
        ("new/2", (0.0, 500.0), 1),
        ("new/3", (-1000.0, 0.0), 1),
    ):
        shop = f"37{number[-1]}000000000"
        load.insert(
            "reference",
            "gazetteer",
            "2026-01",
            **region.gazetteer_row(shop, region.LSOA_1, x + dx, y + dy, "commercial"),
        )
        for period in MONTHS[opened:3]:
            _licence(load, period, number, shop)
    # The register's last month lists a pub only: no betting premises anywhere.
    load.insert(
        "licensing",
        "premises_licences",
        MONTHS[3],
        licence_number="pub/9",
        premises_name="The Anchor",
        licence_type="pub",
        licence_holder_token="tok-holder-10",
        uprn=region.HOUSE_C,
        postcode="EX1 2AB",
        opening_date=date(2019, 1, 1),
        status="granted",
    )


@pytest.fixture(scope="module")
def banded_database(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = database.with_database(server_url, f"jigsaw_test_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    try:
        with pytest.MonkeyPatch.context() as env, psycopg.connect(url) as conn:
            env.setenv(KEY_VARIABLE, DEMO_KEY)  # property keys are tokenised as in the region
            region.load_small_region(conn)
            _place_homes_and_premises(conn)
            write_property_keys(conn)  # the homes added here get their keys too
        target = tmp_path_factory.mktemp("nearest_premises_target")
        run = run_dbt(
            url,
            target,
            "build",
            "--select",
            "+int_property_months_banded",
            "+hardship_by_property_month",
            "--indirect-selection",
            "cautious",
        )
        assert run.returncode == 0, run.output[-6000:]
        yield url
    finally:
        database.drop_database(url)


@pytest.fixture()
def db(banded_database: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(banded_database) as conn:
        yield conn


def test_model_equals_the_exhaustive_comparison_both_ways(db):
    only_model = db.execute(f"{MODEL} except all ({EXHAUSTIVE})").fetchall()
    only_exhaustive = db.execute(f"({EXHAUSTIVE}) except all {MODEL}").fetchall()
    assert only_model == [] and only_exhaustive == []
    assert db.execute(f"select count(*) from ({MODEL}) as model").fetchone()[0] > 0


def test_nearest_new_premises_equal_the_exhaustive_comparison_both_ways(db):
    only_mart = db.execute(f"{MART_NEW_PREMISES} except all ({EXHAUSTIVE_NEW_PREMISES})")
    only_exhaustive = db.execute(f"({EXHAUSTIVE_NEW_PREMISES}) except all {MART_NEW_PREMISES}")
    assert only_mart.fetchall() == [] and only_exhaustive.fetchall() == []
    home = db.execute(
        "select distinct nearest_new_premises_opened_month::text, nearest_new_premises_distance_m"
        " from marts_build.hardship_by_property_month as mart"
        " inner join staging.stg_linkage__property_keys as keys"
        " on mart.property_key = keys.property_key where keys.uprn = '360000000000'"
    ).fetchall()
    assert [(month, float(distance)) for month, distance in home] == [("2026-02-01", 500.0)]


def test_band_boundaries_fall_on_the_side_the_bands_name(db):
    rows = dict(
        db.execute(
            "select distance_m, distance_band from intermediate.int_property_months_banded"
            " where uprn like '3100%%' and month_start = '2026-01-01'"
        ).fetchall()
    )
    assert {float(k): v for k, v in rows.items()} == {
        399.9: "0000-0399m",
        400.0: "0400-0799m",
        799.9: "0400-0799m",
        800.0: "0800-1599m",
        1599.9: "0800-1599m",
        1600.0: "1600m_plus",
    }


def test_search_walks_past_closed_nearest_premises_and_months_without_any(db):
    rows = db.execute(
        "select month_start::text, distance_m, distance_band"
        " from intermediate.int_property_months_banded where uprn = '330000000000'"
        " order by month_start"
    ).fetchall()
    assert [(month, band) for month, _, band in rows] == [
        ("2026-01-01", "0000-0399m"),  # its nearest shop, 100 m
        ("2026-02-01", "0800-1599m"),  # the six nearest closed: 1,599.9 m
        ("2026-03-01", "1600m_plus"),  # only the boundary homes' shops, 200 km away
        ("2026-04-01", "no_premises"),
    ]
    assert [None if d is None else float(d) for _, d, _ in rows][:2] == [100.0, 1599.9]
    assert rows[3][1] is None
