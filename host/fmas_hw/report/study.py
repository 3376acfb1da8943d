"""The proxy study's report: a Markdown/HTML page, CSV tables, JSON summary and plots.

``proxy-curve`` is the paper's §3.2 figure: error against the fraction of ``val.txt`` evaluated,
the mean over the candidates with the band of their spread around each one's full-set error, and
the fraction where it stabilises. ``proxy-scatter`` is subset error against full-set error, one
point per candidate, with Kendall τ and Spearman ρ. A search report includes the same section
(:func:`study_section`) when pointed at a study folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import ReportError
from ..eval.proxy_study import ProxyStudy
from .document import Section, render_html, render_markdown
from .plots import save
from .tables import Column, blank, csv_text, pct, plain, points

SUMMARY = "study.json"
CURVE, SCATTER = "proxy-curve", "proxy-scatter"

num3 = blank(lambda v: f"{v:.3f}")
frac = blank(lambda v: f"{100 * v:.0f} %")
CURVE_COLUMNS = [
    Column("fraction", "fraction of val.txt", frac, True), Column("images", "images", plain, True),
    Column("mean_error", "mean error (%)", pct, True),
    Column("mean_abs_deviation", "mean abs. deviation from full (points)", blank(lambda v: f"{v:.2f}"), True),
    Column("max_abs_deviation", "max abs. deviation from full (points)", blank(lambda v: f"{v:.2f}"), True),
    Column("kendall_tau", "Kendall τ vs full", num3, True), Column("spearman_rho", "Spearman ρ vs full", num3, True),
]
SELECTION_COLUMNS = [
    Column("pool", "K", plain, True), Column("draws", "draws", plain, True),
    Column("optimism_mean", "optimism, mean (points)", points, True),
    Column("optimism_p90", "optimism, 90th pct (points)", points, True),
    Column("regret_mean", "regret, mean (points)", points, True),
    Column("regret_max", "regret, max (points)", points, True),
    Column("hit_rate", "subset-best = full-best", frac, True),
]


def write_study(result: ProxyStudy, out_dir: str | Path, context: dict[str, Any], formats=("md", "csv")) -> dict:
    """Write the study into ``out_dir``; returns the summary (also written as ``study.json``).

    Args:
        result: the statistics.
        out_dir: the folder (created).
        context: what was studied (weights, data, backbone, seconds, ...), kept in the summary.
        formats: of the tables: any of md, csv, html.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        save(curve_figure(result), out / CURVE)
        save(scatter_figure(result), out / SCATTER)
        summary = {**context, **result.summary(), "curve": [asdict(r) for r in result.rows],
                   "candidates_table": result.candidate_rows()}
        (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        sections = [study_section(summary, ""), selection_section(summary)]
        title = "FMAS proxy study: the validation subset as a proxy of the full set"
        if "md" in formats:
            (out / "study.md").write_text(render_markdown(title, [], sections), encoding="utf-8")
        if "html" in formats:
            (out / "study.html").write_text(render_html(title, [], sections), encoding="utf-8")
        if "csv" in formats:
            (out / "curve.csv").write_text(csv_text(summary["curve"]), encoding="utf-8")
            (out / "candidates.csv").write_text(csv_text(summary["candidates_table"]), encoding="utf-8")
            (out / "selection.csv").write_text(csv_text(summary["selections"]), encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the proxy study into {out}: {exc}; choose another --out") from exc
    return summary


def read_summary(study_dir: str | Path) -> dict[str, Any]:
    """The ``study.json`` of a study folder.

    Raises:
        ReportError: the folder holds no readable study.
    """
    path = Path(study_dir) / SUMMARY
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} is not a proxy study ({exc}): run `fmas-hw study proxy --out "
                          f"{study_dir}` first") from exc


def study_section(summary: dict[str, Any], image_dir: str) -> Section:
    """The study as one report section; images are looked up under ``image_dir`` (relative)."""
    return Section("Proxy study: subset vs full validation set", text=_describe(summary),
                   columns=CURVE_COLUMNS, rows=summary["curve"],
                   notes=["Error = 1 − mIoU without fine-tuning; 'the first f' of val.txt holds ceil(f·N) "
                          "images, as the search's subset. Deviations are per candidate from its own full-set "
                          "error, in mIoU points."],
                   images=[(os.path.join(image_dir, f"{CURVE}.png"), "error vs fraction of the validation set"),
                           (os.path.join(image_dir, f"{SCATTER}.png"), "subset vs full-set error")])


def selection_section(summary: dict[str, Any]) -> Section:
    """Best-of-K optimism as its own table."""
    return Section("Proxy study: optimism of the subset-best of K", columns=SELECTION_COLUMNS,
                   rows=summary["selections"],
                   notes=["Optimism = full-set error − subset error of the candidate the subset ranks best "
                          "among K random candidates (> 0: it looked better than it is); regret = its full-set "
                          "error − the best full-set error among the K."])


def _describe(s: dict[str, Any]) -> list[str]:
    tau = "undefined" if s["kendall_tau"] is None else f"{s['kendall_tau']:.3f} (p = {s['kendall_p']:.2g})"
    rho = "undefined" if s["spearman_rho"] is None else f"{s['spearman_rho']:.3f} (p = {s['spearman_p']:.2g})"
    sampling = f" ({s['sampling']})" if s.get("sampling") else ""
    text = [f"{s['candidates']} candidates: the supernet and {s['candidates'] - 1} sub-networks{sampling}, evaluated "
            f"once per image over all {s['images']} validation images; every fraction below comes from that "
            f"one pass. They have {s['distinct_full_errors']} distinct full-set errors (tied candidates, e.g. "
            "constant predictors, make a rank agreement look better than it is)."]
    if s.get("weights"):
        text.append(f"Supernet `{s['weights']}`, data `{s.get('data')}`, input {s.get('input_size')} px.")
    text.append(f"At the search's subset (first {100 * s['fraction']:.0f} %, {s['subset_images']} images): "
                f"Kendall τ = {tau}, Spearman ρ = {rho} between subset and full-set error; "
                f"|subset − full| up to {s['max_abs_gap_points']:.2f} points (mean {s['mean_abs_gap_points']:.2f}).")
    text.append(f"The mean deviation stays within {s['tolerance_points']:g} point(s) from "
                f"{100 * s['stable_at']:.0f} % of the validation set on.")
    text.extend(_selection_text(sel) for sel in s["selections"])
    return text


def _selection_text(sel: dict[str, Any]) -> str:
    return (f"Best of K = {sel['pool']} (over {sel['draws']} random pools): the subset-best looks "
            f"{sel['optimism_mean']:+.2f} points too good on average (90th percentile {sel['optimism_p90']:+.2f}); "
            f"it is {sel['regret_mean']:.2f} points worse than the pool's true best on average and the true "
            f"best in {100 * sel['hit_rate']:.0f} % of pools.")


def curve_figure(result: ProxyStudy) -> Figure:
    """Left: every candidate's error vs fraction. Right: its deviation from its own full-set error,
    the mean absolute deviation, the tolerance band and where the curve stabilises."""
    f = 100 * np.array(result.fractions)
    errors = 100 * result.errors
    deviation = errors - errors[:, -1:]
    fig = Figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    for row in errors:
        left.plot(f, row, color="0.7", linewidth=0.7)
    left.plot(f, errors[0], color="tab:red", linewidth=1.5, label=result.names[0])
    left.plot(f, errors.mean(axis=0), color="tab:blue", linewidth=2, label="mean over candidates")
    left.set_ylabel("error = 1 − mIoU, no fine-tuning (%)")
    for row in deviation:
        right.plot(f, row, color="0.7", linewidth=0.7)
    right.plot(f, np.abs(deviation).mean(axis=0), color="tab:blue", linewidth=2, label="mean |deviation|")
    right.axhspan(-result.tolerance, result.tolerance, color="tab:green", alpha=0.12,
                  label=f"±{result.tolerance:g} point")
    right.axvline(100 * result.stable_at, color="tab:green", linestyle="--",
                  label=f"stable from {100 * result.stable_at:.0f} %")
    right.set_ylabel("error − full-set error (mIoU points)")
    for ax in (left, right):
        ax.axvline(100 * result.fraction, color="tab:red", linestyle=":",
                   label=f"search subset {100 * result.fraction:.0f} %")
        ax.set_xlabel(f"fraction of the {result.images} validation images evaluated (%)")
        ax.grid(True, color="0.92")
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Proxy study: {len(result.names)} candidates, one pass each", fontsize=10)
    return fig


def scatter_figure(result: ProxyStudy) -> Figure:
    """Subset error vs full-set error, one point per candidate, with the ±2-point band."""
    x, y = 100 * result.subset_errors, 100 * result.full_errors
    fig = Figure(figsize=(5.5, 5.0))
    ax = fig.add_subplot()
    low, high = float(min(x.min(), y.min())) - 1, float(max(x.max(), y.max())) + 1
    line = np.array([low, high])
    ax.plot(line, line, linestyle="--", color="0.5", label="y = x")
    ax.fill_between(line, line - 2, line + 2, color="0.9", label="±2 points")
    ax.scatter(x[1:], y[1:], color="tab:blue", s=14, zorder=3, label="random candidates")
    ax.scatter(x[:1], y[:1], color="tab:red", marker="*", s=90, zorder=4, label=result.names[0])
    a = result.agreement
    tau = "undefined" if a.kendall_tau is None else f"{a.kendall_tau:.3f}"
    rho = "undefined" if a.spearman_rho is None else f"{a.spearman_rho:.3f}"
    ax.set_title(f"Kendall τ = {tau}, Spearman ρ = {rho} (n = {len(x)})", fontsize=9)
    ax.set_xlabel(f"error on the first {100 * result.fraction:.0f} % of val.txt (%)")
    ax.set_ylabel("error on the full validation set (%)")
    ax.grid(True, color="0.92")
    ax.legend(fontsize=7, loc="upper left")
    return fig
