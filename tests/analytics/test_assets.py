"""The analytics assets end to end on a real PostgreSQL: synthetic marts published in `marts`,
the assets materialised through Dagster with the project's database resource, their outputs in
`analytics` and `practitioner`, the report written, and evaluation graded against a truth folder
(or failing clearly without one)."""

from __future__ import annotations

import csv
import json
import uuid
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest
from psycopg import sql

from analytics import betting, damp
from analytics import early_intervention as ei
from analytics.store import PRACTITIONER_SCHEMA, read_mart
from jigsaw import database
from orchestration.defs import analytics as analytics_defs
from orchestration.resources import PostgresResource
from quality.access import ANALYST, practitioner_role
from quality.disclosure import THRESHOLD
from quality.roles import ensure_roles
from tests.analytics.synthetic import damp_panel, early_intervention_features, hardship_panel

ASSETS = list(analytics_defs.defs.assets)


def _publish(conn: psycopg.Connection, name: str, frame: pd.DataFrame, types: dict[str, str]):
    table = sql.Identifier("marts", name)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types.get(c, "integer")))
        for c in frame.columns
    )
    conn.execute(sql.SQL("create table {} ({})").format(table, columns))
    with conn.cursor().copy(
        sql.SQL("copy {} ({}) from stdin").format(
            table, sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
        )
    ) as copy:
        for row in frame.itertuples(index=False):
            copy.write_row([None if pd.isna(v) else v for v in row])


@pytest.fixture(scope="module")
def marts_url(server_url):
    url = database.with_database(server_url, f"jigsaw_analytics_{uuid.uuid4().hex[:10]}")
    database.ensure_database(url)
    hardship = hardship_panel(2.0, homes=800)
    hardship["nearest_new_premises_distance_m"] = hardship["nearest_new_premises_distance_m"]
    features = early_intervention_features(children=1200)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema marts")
        # The practitioner roles of the two lists' purposes, as the regional build makes them.
        for schema in ("identity", "linkage", "raw_reference"):
            conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        ensure_roles(
            conn, database.parse_url(url).dbname, ["marts"], [damp.ALERT_PURPOSE, ei.REVIEW_PURPOSE]
        )
        _publish(
            conn,
            betting.MART,
            hardship,
            {
                "property_key": "text",
                "month_start": "date",
                "household_in_hardship": "boolean",
                "nearest_new_premises_distance_m": "numeric(9, 1)",
            },
        )
        _publish(
            conn,
            damp.MART,
            damp_panel(2.5, homes=600),
            {"uprn": "text", "month_start": "date", "ward_name": "text", "lsoa_code": "text"},
        )
        _publish(
            conn,
            ei.MART,
            features,
            {
                "person_key": "text",
                "month_start": "date",
                "sex_code": "text",
                "school_attendance_rate": "numeric(4, 3)",
                ei.LABEL: "boolean",
                ei.LABEL_COMPLETE: "boolean",
            },
        )
    yield url
    database.drop_database(url)


def _truth(folder: Path, damp_uprns: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    effects = {
        "betting_hardship": {"planted_rate_ratio": 2.0, "rate_ratio": 2.0},
        "damp_respiratory": {"planted_rate_ratio": 2.5, "rate_ratio": 2.5},
    }
    (folder / "effects.json").write_text(json.dumps(effects))
    with open(folder / "properties.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uprn", "damp_since_period"])
        writer.writerows([u, "2023-06"] for u in damp_uprns)
    return folder


@pytest.fixture(scope="module")
def materialised(marts_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("analytics")
    patch = pytest.MonkeyPatch()
    patch.setenv("JIGSAW_REPORTS_DIR", str(folder / "reports"))
    with psycopg.connect(marts_url) as conn:
        frame = read_mart(conn, damp.MART)
    # Half the homes the alert will list are truly damp: its precision is then about a half and
    # its recall 1 (no other home is damp).
    evidenced = sorted(damp.damp_alerts(frame)["uprn"])
    patch.setenv("JIGSAW_GROUND_TRUTH_DIR", str(_truth(folder / "truth", evidenced[::2])))
    try:
        result = dg.materialize(
            ASSETS,
            resources={"database": PostgresResource(url=marts_url)},
            raise_on_error=False,
        )
        yield result, folder
    finally:
        patch.undo()


def _metadata(result, name: str) -> dict:
    [event] = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["analytics", name])
    ]
    return event.materialization.metadata


def test_every_analytics_asset_materialises(materialised):
    result, _ = materialised
    assert result.success
    keys = {e.asset_key for e in result.get_asset_materialization_events()}
    assert keys == {a.key for a in ASSETS}


def test_studies_and_metrics_are_written_to_the_analytics_schema(materialised, marts_url):
    with psycopg.connect(marts_url) as conn:
        studies = dict(
            conn.execute("select study, ci_low < ci_high from analytics.study_estimates").fetchall()
        )
        metrics = conn.execute(
            "select count(distinct model), count(*) from analytics.model_metrics "
            "where split = 'test'"
        ).fetchone()
    assert studies == {betting.STUDY: True, damp.STUDY: True}
    assert metrics[0] == len(ei.MODELS) and metrics[1] > 0


def test_plots_are_attached_as_markdown_images(materialised):
    result, _ = materialised
    curve = _metadata(result, "betting_hardship_study")["event_time_curve"]
    assert curve.value.startswith("![betting_event_time](data:image/png;base64,")
    model = _metadata(result, "early_intervention_model")
    for name in ("roc_and_precision_recall", "calibration", "fairness"):
        assert "data:image/png;base64," in model[name].value
    assert isinstance(_metadata(result, "betting_hardship_study")["estimate"].value, float)


def test_scores_and_alerts_go_only_to_the_practitioner_schema(materialised, marts_url):
    with psycopg.connect(marts_url) as conn:
        tables = {
            (schema, table)
            for schema, table in conn.execute(
                "select table_schema, table_name from information_schema.columns "
                "where column_name in ('person_key', 'uprn', 'score') "
                "and table_schema not in ('marts', 'pg_catalog', 'information_schema')"
            ).fetchall()
        }
        comment = conn.execute(
            "select obj_description(%s::regclass)", (f"{PRACTITIONER_SCHEMA}.{ei.REVIEW_TABLE}",)
        ).fetchone()[0]
    assert tables == {
        (PRACTITIONER_SCHEMA, ei.REVIEW_TABLE),
        (PRACTITIONER_SCHEMA, damp.ALERT_TABLE),
    }
    assert "never an automated decision" in comment and "Disclosure: record level" in comment


def test_each_list_is_readable_by_its_purposes_practitioners_only(materialised, marts_url):
    lists = {damp.ALERT_TABLE: damp.ALERT_PURPOSE, ei.REVIEW_TABLE: ei.REVIEW_PURPOSE}
    with psycopg.connect(marts_url) as conn:
        for table, purpose in lists.items():
            relation = f"{PRACTITIONER_SCHEMA}.{table}"
            readers = {
                role
                for (role,) in conn.execute(
                    "select rolname from pg_roles where rolname in (%s, %s, %s)"
                    " and has_table_privilege(rolname, %s, 'select')",
                    (ANALYST, *(practitioner_role(p) for p in lists.values()), relation),
                )
            }
            assert readers == {practitioner_role(purpose)}, relation


def test_evaluation_grades_against_the_truth(materialised):
    result, _ = materialised
    graded = _metadata(result, "evaluation")
    assert graded[f"{betting.STUDY}_contains_planted"].value is True
    assert graded[f"{damp.STUDY}_contains_planted"].value is True
    precision = graded["damp_alert_precision"].value
    assert 0.3 < precision < 0.7, precision  # half the evidenced homes were made truly damp
    assert graded["damp_alert_recall"].value == 1.0


class _Tables(HTMLParser):
    """The report's tables as lists of rows of cell texts (the first row is the header)."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_report_is_static_html_with_no_small_counts(materialised):
    _, folder = materialised
    page = (folder / "reports" / "analysts_report.html").read_text()
    assert page.startswith("<!doctype html>") and "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page  # readable offline
    parser = _Tables()
    parser.feed(page)
    counted = 0
    for header, *rows in parser.tables:
        for i, name in enumerate(header):
            if name in ("child-months", "positives", "homes alerted"):
                for row in rows:
                    counted += 1
                    assert not (row[i].isdigit() and 0 < int(row[i]) < THRESHOLD), (name, row)
    assert counted > 0
    assert f"&lt;{THRESHOLD}" in page  # the synthetic data have small groups: shown as such


def test_evaluation_fails_clearly_without_ground_truth(materialised, marts_url, tmp_path):
    patch = pytest.MonkeyPatch()
    patch.setenv("JIGSAW_GROUND_TRUTH_DIR", str(tmp_path / "no_truth_here"))
    try:
        evaluation = [a for a in ASSETS if a.key == dg.AssetKey(["analytics", "evaluation"])]
        result = dg.materialize(
            evaluation,
            resources={"database": PostgresResource(url=marts_url)},
            raise_on_error=False,
        )
    finally:
        patch.undo()
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "ground truth" in message and "no_truth_here" in message
