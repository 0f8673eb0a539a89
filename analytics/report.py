"""The analysts' static report: one HTML file under data/reports/, readable offline.

Everything in it comes from the published marts, through the analytics tables the assets wrote
(study estimates, model metrics) and the figures they drew; images are inlined so the file
stands alone. Disclosure control: no count between 1 and THRESHOLD - 1 is shown, and no
record-level row (the damp alerts appear as counts by ward only).
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from analytics import damp
from analytics.plots import figures_dir
from analytics.store import ANALYTICS_SCHEMA, PRACTITIONER_SCHEMA, ensure_tables
from jigsaw.paths import reports_dir
from quality.disclosure import THRESHOLD

REPORT_NAME = "analysts_report.html"
FIGURES = [
    ("betting_event_time", "Hardship onset around new betting premises (event-time curve)"),
    ("study_rate_ratios", "Study estimates with 95 % intervals"),
    ("model_roc_pr", "Early-intervention model: ROC and precision-recall"),
    ("model_calibration", "Early-intervention model: calibration"),
    ("model_fairness", "Early-intervention model: error rates by group"),
]


def disclosed(count: int | None) -> str:
    if count is None:
        return "n/a"
    return f"&lt;{THRESHOLD}" if 0 < count < THRESHOLD else str(count)


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _figure(name: str, caption: str) -> str:
    path = figures_dir() / f"{name}.png"
    if not path.exists():
        missing = f"{html.escape(caption)}: not drawn yet (materialise the analytics assets)"
        return f"<p><em>{missing}.</em></p>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def build_report(conn: psycopg.Connection, path: Path | None = None) -> Path:
    ensure_tables(conn)
    path = path or reports_dir() / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    studies = conn.execute(
        f"select distinct on (study) study, estimate, ci_low, ci_high, method, n "
        f"from {ANALYTICS_SCHEMA}.study_estimates order by study, recorded_at desc"
    ).fetchall()
    metrics = conn.execute(
        f"select model, metric, value from {ANALYTICS_SCHEMA}.model_metrics "
        f"where split = 'test' and run_id = (select run_id from {ANALYTICS_SCHEMA}.model_metrics "
        "order by recorded_at desc limit 1) order by model, metric"
    ).fetchall()
    fairness = conn.execute(
        f"select split, metric, value from {ANALYTICS_SCHEMA}.model_metrics "
        "where split like 'test|%%' and run_id = (select run_id from "
        f"{ANALYTICS_SCHEMA}.model_metrics order by recorded_at desc limit 1) "
        "order by split, metric"
    ).fetchall()
    alerts_by_ward = []
    alerts_exist = conn.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        (PRACTITIONER_SCHEMA, damp.ALERT_TABLE),
    ).fetchone()
    if alerts_exist:
        alerts_by_ward = conn.execute(
            f"select coalesce(ward_name, 'unknown'), count(*)::int from "
            f"{PRACTITIONER_SCHEMA}.{damp.ALERT_TABLE} group by 1 order by 1"
        ).fetchall()

    model_rows: dict[str, dict[str, float]] = {}
    for model, metric, value in metrics:
        model_rows.setdefault(model, {})[metric] = value
    metric_names = [
        "auc_roc",
        "average_precision",
        "precision_at_capacity",
        "recall_at_capacity",
        "brier_score",
    ]
    groups: dict[str, dict[str, float]] = {}
    for split, metric, value in fairness:
        groups.setdefault(split.split("|", 1)[1], {})[metric] = value

    def group_row(name: str, values: dict[str, float]) -> list:
        size = int(values.get("children_months", 0))
        positives = int(values.get("positives", 0))
        small = size < THRESHOLD or 0 < positives < THRESHOLD
        rates = [
            "withheld" if small else _fmt(values.get(k))
            for k in ("selection_rate", "true_positive_rate", "false_positive_rate")
        ]
        return [html.escape(name), disclosed(size), disclosed(positives), *rates]

    sections = [
        "<h2>Studies</h2>",
        _table(
            ["study", "estimate", "95 % interval", "units", "method"],
            [
                [html.escape(s), _fmt(e), f"{_fmt(lo)} to {_fmt(hi)}", n, html.escape(m)]
                for s, e, lo, hi, m, n in studies
            ],
        ),
        _figure(*FIGURES[0]),
        _figure(*FIGURES[1]),
        "<h2>Early-intervention model (test months)</h2>",
        _table(
            ["model", *metric_names],
            [
                [html.escape(m), *(_fmt(v.get(k)) for k in metric_names)]
                for m, v in model_rows.items()
            ],
        ),
        _figure(*FIGURES[2]),
        _figure(*FIGURES[3]),
        "<h3>Fairness of the chosen model at capacity</h3>",
        _table(
            [
                "group",
                "child-months",
                "positives",
                "selection rate",
                "true positive rate",
                "false positive rate",
            ],
            [group_row(g, v) for g, v in groups.items()],
        ),
        _figure(*FIGURES[4]),
        "<h2>Damp alerts for the housing provider (homes by ward)</h2>",
        _table(
            ["ward", "homes alerted"], [[html.escape(w), disclosed(c)] for w, c in alerts_by_ward]
        )
        if alerts_by_ward
        else "<p><em>No damp alert list yet.</em></p>",
    ]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Jigsaw: analysts' report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;
font-size:.9em;text-align:left}}img{{max-width:100%}}figcaption{{font-size:.85em;color:#555}}</style>
</head><body>
<h1>Prediction and prevention: analysts' report</h1>
<p>Built {stamp} from the published marts only. Counts from 1 to {THRESHOLD - 1} are shown as
&lt;{THRESHOLD}; rates of groups that small are withheld. Record-level lists (damp alerts, the
practitioners' review list) are not in this report.</p>
{"".join(sections)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
