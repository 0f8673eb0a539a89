"""The figures of the studies and the model, as PNG files and as markdown with the image inline.

Dagster shows a markdown metadata value on the asset page, so an embedded PNG (base64) is seen
there without a file server; the same bytes are written under data/reports/figures for the
static report and for MetadataValue.path.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from jigsaw.paths import reports_dir  # noqa: E402

DPI = 90


def figures_dir() -> Path:
    path = reports_dir() / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(fig, name: str) -> tuple[Path, str]:
    """Write the figure as figures/<name>.png; return the path and a markdown image of it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    data = buffer.getvalue()
    path = figures_dir() / f"{name}.png"
    path.write_bytes(data)
    return path, f"![{name}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})"


def event_time_curve(event_time: pd.DataFrame, lag: int, title: str):
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = event_time["bin_start"].to_numpy(dtype=float) + 1
    ratio = event_time["ratio"].astype(float).to_numpy()
    low = event_time["ci_low"].astype(float).to_numpy()
    high = event_time["ci_high"].astype(float).to_numpy()
    ax.fill_between(x, low, high, alpha=0.25, color="tab:blue", label="95 % interval")
    ax.plot(x, ratio, "o-", color="tab:blue", label="rate ratio")
    ax.axhline(1.0, color="grey", lw=1)
    ax.axvline(-0.5, color="black", ls=":", lw=1, label="opening")
    ax.axvline(lag - 0.5, color="tab:red", ls="--", lw=1, label=f"+{lag} months")
    ax.set_xlabel("months since the nearest new betting premises opened (3-month bins)")
    ax.set_ylabel("hardship onset rate ratio")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def interval_chart(rows: list[tuple[str, float, float, float]], title: str, xlabel: str):
    """Horizontal estimates with intervals; rows are (label, estimate, low, high)."""
    fig, ax = plt.subplots(figsize=(7, 0.7 + 0.6 * len(rows)))
    for i, (_, estimate, low, high) in enumerate(rows):
        if estimate is None:
            continue
        ax.errorbar(
            estimate,
            i,
            xerr=[[estimate - (low or estimate)], [(high or estimate) - estimate]],
            fmt="o",
            capsize=4,
            color="tab:blue",
        )
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.axvline(1.0, color="grey", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    return fig


def roc_and_pr(curves: dict[str, dict], title: str):
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(9, 3.8))
    for name, curve in curves.items():
        y, score = curve["y"], curve["score"]
        if not 0 < y.sum() < len(y):
            continue
        fpr, tpr, _ = roc_curve(y, score)
        precision, recall, _ = precision_recall_curve(y, score)
        roc_ax.plot(fpr, tpr, label=name)
        pr_ax.plot(recall, precision, label=name)
    roc_ax.plot([0, 1], [0, 1], color="grey", lw=1)
    roc_ax.set_xlabel("false positive rate")
    roc_ax.set_ylabel("true positive rate")
    roc_ax.set_title("ROC (test months)", fontsize=10)
    pr_ax.set_xlabel("recall")
    pr_ax.set_ylabel("precision")
    pr_ax.set_title("precision-recall (test months)", fontsize=10)
    pr_ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def calibration(curves: dict[str, dict], title: str):
    fig, ax = plt.subplots(figsize=(4.8, 4))
    top = 0.0
    for name, curve in curves.items():
        if "calibration" in curve:
            predicted, observed = curve["calibration"]
            ax.plot(predicted, observed, "o-", label=name)
            top = max(top, float(np.max(predicted)), float(np.max(observed)))
    top = top or 1.0
    ax.plot([0, top], [0, top], color="grey", lw=1, label="perfect")
    ax.set_xlabel("predicted probability (decile of score)")
    ax.set_ylabel("observed share")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def fairness_bars(table: pd.DataFrame, title: str):
    attributes = list(dict.fromkeys(table["attribute"]))
    fig, axes = plt.subplots(1, len(attributes), figsize=(3.4 * len(attributes), 3.4), sharey=True)
    for ax, attribute in zip(np.atleast_1d(axes), attributes, strict=True):
        rows = table[table["attribute"] == attribute]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, rows["true_positive_rate"].astype(float), 0.4, label="true positive rate")
        ax.bar(x + 0.2, rows["selection_rate"].astype(float), 0.4, label="selection rate")
        ax.set_xticks(x, rows["group"].astype(str), rotation=45, fontsize=8)
        ax.set_title(attribute, fontsize=9)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def markdown_table(frame: pd.DataFrame) -> str:
    """A data frame as a markdown table (for asset metadata), numbers to 3 decimals."""

    def cell(value) -> str:
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.3f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def interval_text(estimate) -> str:
    """'2.01 (95 % CI 1.60 to 2.55)', or says the data were too few to estimate."""
    if estimate.estimate is None:
        return "not estimable (too few events)"
    if estimate.ci_low is None or estimate.ci_high is None:
        return f"{estimate.estimate:.2f} (no interval: too few events)"
    return f"{estimate.estimate:.2f} (95 % CI {estimate.ci_low:.2f} to {estimate.ci_high:.2f})"
