"""Analytics assets (design layer 7): the studies, the early-intervention model, the damp alert
list, their evaluation against the demo region's ground truth, and the analysts' report.

Each reads the published marts only (``analytics.store.read_mart``) through the project's
database resource, writes its figures to ``analytics.study_estimates`` /
``analytics.model_metrics`` and record-level lists to the restricted ``practitioner`` schema,
and attaches its plots to the asset page as markdown with the image inline.
"""

import dagster as dg

from analytics.store import InsufficientDataError
from jigsaw import schemas
from orchestration.resources import PostgresResource

GROUP = "analytics"
# The steps that read a whole mart into memory (hundreds of MB each at a million residents) run
# one at a time under the multiprocess executor (dagster.yaml gives every pool one slot, see
# orchestration.instance), so launched runs peak at one mart, not at several.
POOL = "analytics"


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["analytics", name])


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey([schemas.MARTS, name])


def _float(value) -> dg.MetadataValue:
    return dg.MetadataValue.float(float("nan") if value is None else round(float(value), 4))


def _not_estimable(context: dg.AssetExecutionContext, reason: Exception) -> dg.MaterializeResult:
    """Too little data (a small or short region): said on the asset, nothing recorded."""
    context.log.warning(f"not estimated: {reason}")
    return dg.MaterializeResult(
        metadata={"estimable": False, "reason": dg.MetadataValue.text(str(reason))}
    )


def _estimate_metadata(estimate) -> dict:
    return {
        "estimate": _float(estimate.estimate),
        "ci_low": _float(estimate.ci_low),
        "ci_high": _float(estimate.ci_high),
        "n": dg.MetadataValue.int(estimate.n),
        "method": dg.MetadataValue.text(estimate.method),
    }


@dg.asset(
    key=_key("betting_hardship_study"),
    deps=[_mart("hardship_by_property_month")],
    group_name=GROUP,
    pool=POOL,
    kinds={"python", "postgres"},
    description=(
        "Event study: does hardship onset rise among homes near a newly opened betting premises, "
        "from 3 months after opening? Rate ratio with a cluster-bootstrap interval, written to "
        "analytics.study_estimates, with the event-time curve."
    ),
)
def betting_hardship_study(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from analytics import betting, plots
    from analytics.store import read_mart, write_study_estimate

    with database.connect() as conn:
        frame = read_mart(conn, betting.MART, betting.COLUMNS)
        try:
            study = betting.estimate_betting_effect(frame)
        except InsufficientDataError as too_few:
            return _not_estimable(context, too_few)
        write_study_estimate(conn, study.estimate, context.run.run_id)
    e = study.estimate
    figure = plots.event_time_curve(
        study.event_time,
        betting.LAG_MONTHS,
        f"rate ratio {plots.interval_text(e)} from +{betting.LAG_MONTHS} months vs before opening",
    )
    path, markdown = plots.save(figure, "betting_event_time")
    context.log.info(f"betting premises and hardship onset: {e.estimate} [{e.ci_low}, {e.ci_high}]")
    return dg.MaterializeResult(
        metadata={
            **_estimate_metadata(e),
            **{k: dg.MetadataValue.int(v) for k, v in study.counts.items()},
            "event_time_curve": dg.MetadataValue.md(markdown),
            "event_time_table": dg.MetadataValue.md(plots.markdown_table(study.event_time)),
            "figure_path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    key=_key("damp_respiratory_study"),
    deps=[_mart("damp_evidence_by_property_month")],
    group_name=GROUP,
    pool=POOL,
    kinds={"python", "postgres"},
    description=(
        "Rate ratio of respiratory A&E attendances for people in homes damp for 2+ months "
        "(sustained humidity from home sensors, damp and mould repairs) vs homes with no damp "
        "evidence, with a cluster-bootstrap interval, written to analytics.study_estimates."
    ),
)
def damp_respiratory_study(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from analytics import damp, plots
    from analytics.store import read_mart, write_study_estimate

    with database.connect() as conn:
        try:
            study = damp.estimate_damp_effect(read_mart(conn, damp.MART))
        except InsufficientDataError as too_few:
            return _not_estimable(context, too_few)
        write_study_estimate(conn, study.estimate, context.run.run_id)
    e = study.estimate
    figure = plots.interval_chart(
        [("damp 2+ months vs no damp evidence", e.estimate, e.ci_low, e.ci_high)],
        "Respiratory A&E attendances per person-month",
        "rate ratio (log scale)",
    )
    path, markdown = plots.save(figure, "damp_rate_ratio")
    return dg.MaterializeResult(
        metadata={
            **_estimate_metadata(e),
            "wald_ci_low": _float(study.wald[1]),
            "wald_ci_high": _float(study.wald[2]),
            **{k: dg.MetadataValue.int(v) for k, v in study.counts.items()},
            "rate_ratio_plot": dg.MetadataValue.md(markdown),
            "figure_path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    key=_key("damp_alerts"),
    deps=[_mart("damp_evidence_by_property_month")],
    group_name=GROUP,
    pool=POOL,
    kinds={"python", "postgres"},
    description=(
        "Purpose-limited, record-level list of social homes with damp evidence in the last 12 "
        "months, for the housing provider to inspect: practitioner.damp_alerts (no health data)."
    ),
    metadata={"purpose": "housing_condition", "disclosure": "record_level", "grain": "property"},
)
def damp_alerts(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from analytics import damp
    from analytics.store import PRACTITIONER_SCHEMA, read_mart, replace_practitioner_table

    with database.connect() as conn:
        alerts = damp.damp_alerts(read_mart(conn, damp.MART))
        rows = replace_practitioner_table(
            conn,
            damp.ALERT_TABLE,
            alerts,
            damp.ALERT_TYPES,
            damp.ALERT_COMMENT,
            damp.ALERT_PURPOSE,
        )
    by_evidence = alerts["evidence"].value_counts().to_dict() if rows else {}
    return dg.MaterializeResult(
        metadata={
            "alerts": dg.MetadataValue.int(rows),
            "table": dg.MetadataValue.text(f"{PRACTITIONER_SCHEMA}.{damp.ALERT_TABLE}"),
            **{
                f"alerts_{k.replace(' ', '_')}": dg.MetadataValue.int(int(v))
                for k, v in by_evidence.items()
            },
        }
    )


@dg.asset(
    key=_key("early_intervention_model"),
    deps=[_mart("early_intervention_features")],
    group_name=GROUP,
    pool=POOL,
    kinds={"scikitlearn", "postgres"},
    description=(
        "Child protection plan within 3 months: a rule and a logistic regression against a "
        "gradient-boosted model, time-based split; metrics to analytics.model_metrics, the "
        "review list (top 2 % of children) only to practitioner.early_intervention_review_list."
    ),
    metadata={
        "purpose": "early_intervention",
        "disclosure": "record_level",
        "grain": "person_month",
    },
)
def early_intervention_model(context: dg.AssetExecutionContext, database: PostgresResource):
    from analytics import early_intervention as ei
    from analytics import plots
    from analytics.model_card import fairness_markdown
    from analytics.store import read_mart, replace_practitioner_table, write_model_metrics

    run_id = context.run.run_id
    with database.connect() as conn:
        try:
            run = ei.run_model(read_mart(conn, ei.MART, ei.COLUMNS, where=ei.CHILDREN_ONLY))
        except InsufficientDataError as too_few:
            context.log.warning(f"model not trained: {too_few}")
            return dg.Output(
                {"trained": False, "reason": str(too_few)},
                metadata={"trained": False, "reason": dg.MetadataValue.text(str(too_few))},
            )
        for model, splits in run.metrics.items():
            for split, values in splits.items():
                write_model_metrics(conn, model, split, values, run_id)
        for row in run.fairness.itertuples(index=False):
            write_model_metrics(
                conn,
                ei.CHOSEN_MODEL,
                f"test|{row.attribute}={row.group}",
                {
                    "children_months": row.children_months,
                    "positives": row.positives,
                    "selection_rate": row.selection_rate,
                    "true_positive_rate": row.true_positive_rate,
                    "false_positive_rate": row.false_positive_rate,
                },
                run_id,
            )
        listed = replace_practitioner_table(
            conn,
            ei.REVIEW_TABLE,
            run.review_list,
            ei.REVIEW_TYPES,
            ei.REVIEW_COMMENT,
            ei.REVIEW_PURPOSE,
        )
    run.review_list = None  # record level: never kept in Dagster's storage
    _, roc_md = plots.save(plots.roc_and_pr(run.curves, "early-intervention model"), "model_roc_pr")
    _, cal_md = plots.save(
        plots.calibration(run.curves, "calibration (test months)"), "model_calibration"
    )
    _, fair_md = plots.save(
        plots.fairness_bars(run.fairness, f"{ei.CHOSEN_MODEL} at capacity, test months"),
        "model_fairness",
    )
    test = {m: run.metrics[m]["test"] for m in ei.MODELS}
    metadata = {
        f"{m}_{k}": _float(test[m][k])
        for m in ei.MODELS
        for k in ("auc_roc", "average_precision", "precision_at_capacity", "recall_at_capacity")
    }
    metadata.update(
        {
            "review_list_rows": dg.MetadataValue.int(listed),
            "split": dg.MetadataValue.json(run.split),
            "roc_and_precision_recall": dg.MetadataValue.md(roc_md),
            "calibration": dg.MetadataValue.md(cal_md),
            "fairness": dg.MetadataValue.md(fair_md + "\n\n" + fairness_markdown(run.fairness)),
        }
    )
    return dg.Output(run, metadata=metadata)


@dg.asset(
    key=_key("early_intervention_model_card"),
    ins={"run": dg.AssetIn(_key("early_intervention_model"))},
    group_name=GROUP,
    kinds={"markdown"},
    description="The model card and the Algorithmic Transparency Recording Standard entry.",
)
def early_intervention_model_card(context: dg.AssetExecutionContext, run) -> dg.MaterializeResult:
    from analytics.model_card import atrs_entry, model_card
    from jigsaw.paths import reports_dir

    if isinstance(run, dict):  # not trained: the card says why instead of showing old figures
        card = (
            f"# Model card: early-intervention model\n\nNot trained in this run: {run['reason']}\n"
        )
        atrs = card
    else:
        card, atrs = model_card(run), atrs_entry(run)
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "early_intervention_model_card.md").write_text(card, encoding="utf-8")
    (folder / "early_intervention_atrs.md").write_text(atrs, encoding="utf-8")
    return dg.MaterializeResult(
        metadata={
            "model_card": dg.MetadataValue.md(card),
            "atrs_entry": dg.MetadataValue.md(atrs),
            "path": dg.MetadataValue.path(str(folder / "early_intervention_model_card.md")),
        }
    )


# Reads the demo region's ground truth, which a real region has not: run by `make demo` and the
# analytics job, never by the regional build (orchestration/defs/jobs.py).
EVALUATION = _key("evaluation")


@dg.asset(
    key=EVALUATION,
    deps=[
        _key("betting_hardship_study"),
        _key("damp_respiratory_study"),
        _key("damp_alerts"),
        _key("early_intervention_model"),
    ],
    group_name=GROUP,
    kinds={"python"},
    description=(
        "Grades the analyses against the demo region's ground truth (the only asset that reads "
        "it): do the studies' intervals contain the planted effects, the damp alerts' precision "
        "and recall, and does the model beat both baselines on average precision."
    ),
)
def evaluation(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from analytics import early_intervention as ei
    from analytics import evaluation as grading
    from analytics.store import ANALYTICS_SCHEMA
    from jigsaw.paths import ground_truth_dir

    truth = ground_truth_dir()
    try:
        with database.connect() as conn:
            studies = grading.grade_studies(conn, truth)
            alerts = grading.grade_damp_alerts(conn, truth)
            ap = dict(
                conn.execute(
                    f"select model, value from {ANALYTICS_SCHEMA}.model_metrics "
                    "where split = 'test' and metric = 'average_precision' and run_id = "
                    "(select run_id from "
                    f"{ANALYTICS_SCHEMA}.model_metrics order by recorded_at desc limit 1)"
                ).fetchall()
            )
    except grading.GroundTruthMissingError as missing:
        raise dg.Failure(description=str(missing)) from missing
    metadata = {}
    for graded in studies:
        name = graded["study"]
        metadata[f"{name}_contains_planted"] = dg.MetadataValue.bool(
            graded["interval_contains_planted"]
        )
        metadata[f"{name}_planted"] = _float(graded["planted"])
        metadata[f"{name}_estimate"] = _float(graded["estimate"])
        metadata[f"{name}_ci"] = dg.MetadataValue.text(f"{graded['ci_low']} to {graded['ci_high']}")
        context.log.info(f"{name}: {graded}")
    metadata.update({f"damp_alert_{k}": v for k, v in alerts.items() if isinstance(v, int)})
    metadata["damp_alert_precision"] = _float(alerts["precision"])
    metadata["damp_alert_recall"] = _float(alerts["recall"])
    if ap:
        chosen = ap.get(ei.CHOSEN_MODEL)
        baselines = [ap[m] for m in ei.MODELS if m != ei.CHOSEN_MODEL and m in ap]
        metadata["model_beats_baselines_on_ap"] = dg.MetadataValue.bool(
            chosen is not None and all(chosen > b for b in baselines)
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=_key("analysts_report"),
    deps=[
        _key("betting_hardship_study"),
        _key("damp_respiratory_study"),
        _key("damp_alerts"),
        _key("early_intervention_model"),
    ],
    group_name=GROUP,
    kinds={"html"},
    description=(
        "The analysts' static HTML report under data/reports/, from the published marts only, "
        "with disclosure control (no count from 1 to 9 shown)."
    ),
)
def analysts_report(
    context: dg.AssetExecutionContext, database: PostgresResource
) -> dg.MaterializeResult:
    from analytics import plots
    from analytics.report import build_report
    from analytics.store import latest_study_estimates

    with database.connect() as conn:
        estimates = latest_study_estimates(conn)
        rows = [(s, e.estimate, e.ci_low, e.ci_high) for s, e in sorted(estimates.items())]
        _, markdown = plots.save(
            plots.interval_chart(
                rows, "Study estimates (95 % intervals)", "rate ratio (log scale)"
            ),
            "study_rate_ratios",
        )
        path = build_report(conn)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "study_rate_ratios": dg.MetadataValue.md(markdown),
        }
    )


analytics_job = dg.define_asset_job(
    name="analytics",
    selection=dg.AssetSelection.groups(GROUP),
    description=(
        "The studies, the model, the damp alerts, their evaluation and the analysts' report."
    ),
)

defs = dg.Definitions(
    assets=[
        betting_hardship_study,
        damp_respiratory_study,
        damp_alerts,
        early_intervention_model,
        early_intervention_model_card,
        evaluation,
        analysts_report,
    ],
    jobs=[analytics_job],
)
