"""Plots of a report (PNG and SVG): the Pareto front's development, hypervolume, proxy fidelity.

``front-<objective>`` is the paper's Figures 2–4: error against one cost objective, every
candidate evaluated in light grey, each generation's population front (NSGA-II's working set) in
its own colour of a sequential colormap (early generations pale, the last dark; colorbar =
generation), the supernet as a red star and the search's front, the non-dominated set of every
feasible candidate evaluated, as a black step line (its non-dominated subset in this plane when the
search had several cost objectives); candidates whose network does not fit GAP8 memory are crossed
in red (their cycles are figures of a network that cannot run), and candidates over a budget of
the search (``--max-cycles``, ``--max-params``) framed in orange. ``hypervolume`` shows the
hypervolume of the search's front over the candidates evaluated up to each generation (it never
falls), the population front's beside it, and the relative change, the criterion the paper uses to
choose G. ``fidelity`` plots
the search's proxy error against the fine-tuned full-set error; ``front-fidelity`` the subset error
against the full-set error without fine-tuning for every final-front member, with the y = x line
and the ±2 point band.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``, so
no GUI backend or global figure state is involved (the Agg and SVG canvases render them).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..store.columns import cost as stored_cost
from ..store.records import Status
from ..targets.figures import source_title
from .fidelity import GAP_BAND_POINTS, Fidelity, FrontFidelity
from .source import SearchData

#: Sequential colormap of the generations; its palest end is skipped so gen 0 stays visible.
CMAP = "viridis_r"
FORMATS = ("png", "svg")
DPI = 150
#: Cost objective -> (divisor, axis label).
AXES = {"flops": (1e9, "FLOPs (G)"), "params": (1e6, "parameters (M)"), "latency": (1e6, "GAP8 cycles (M)")}


def write_plots(data: SearchData, fid: Fidelity | None, out_dir: Path,
                front: FrontFidelity | None = None) -> dict[str, dict[str, Path]]:
    """Write every plot of the report as PNG and SVG.

    Args:
        data: the search.
        fid: the proxy fidelity, or None (then no fidelity plot).
        out_dir: an existing folder.
        front: the final front's subset vs full-set fidelity, or None (then no such plot).

    Returns:
        ``{plot name: {"png": path, "svg": path}}``, e.g. ``"front-flops"``, ``"hypervolume"``.
    """
    figures = {f"front-{name}": front_figure(data, name) for name in data.objectives}
    figures["hypervolume"] = hypervolume_figure(data)
    if fid is not None:
        figures["fidelity"] = fidelity_figure(fid)
    if front is not None:
        figures["front-fidelity"] = front_fidelity_figure(front)
    return {name: save(fig, out_dir / name) for name, fig in figures.items()}


def save(fig: Figure, stem: Path) -> dict[str, Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.svg``; returns ``{format: path}``."""
    out = {}
    for fmt in FORMATS:
        path = stem.with_suffix(f".{fmt}")
        # No date and fixed element ids in the SVG, so the same store renders to the same file.
        metadata = {"Date": None} if fmt == "svg" else None
        with matplotlib.rc_context({"svg.hashsalt": "fmas-hw"}):
            fig.savefig(path, format=fmt, dpi=DPI, bbox_inches="tight", metadata=metadata)
        out[fmt] = path
    return out


# -- Pareto front development -----------------------------------------------------------------
def cost_points(data: SearchData, keys: Iterable[str], objective: str) -> np.ndarray:
    """``[[cost in axis units, error in %], ...]`` of the keys with both values, in key order."""
    divisor, _ = AXES[objective]
    points = []
    for key in keys:
        record = data.evaluations.get(key)
        cost = None if record is None else stored_cost(record, objective)
        if record is not None and record.error is not None and cost is not None:
            points.append((cost / divisor, 100 * record.error))
    return np.array(points, dtype=float).reshape(-1, 2)


def staircase(points: np.ndarray) -> np.ndarray:
    """The 2-D non-dominated subset of ``points`` (both minimised), by ascending cost."""
    ordered = points[np.lexsort((points[:, 1], points[:, 0]))]
    keep, best = [], np.inf
    for cost, error in ordered:
        if error < best:
            keep.append((cost, error))
            best = error
    return np.array(keep, dtype=float).reshape(-1, 2)


def front_figure(data: SearchData, objective: str) -> Figure:
    """Error vs ``objective``: all candidates, each generation's population front, the supernet,
    the search's front."""
    fig = Figure(figsize=(7.5, 5.0))
    ax = fig.add_subplot()
    every = cost_points(data, (k for k, r in data.evaluations.items() if r.status == Status.OK), objective)
    ax.scatter(every[:, 0], every[:, 1], s=12, color="0.82", label="evaluated", zorder=1)
    cmap, norm = _generation_colours(len(data.generations))
    last = max(len(data.generations) - 1, 1)
    ax.plot([], [], color=cmap(norm(last)), label="population front per generation")
    for gen in data.generations:  # later generations are drawn on top of earlier ones
        pts = cost_points(data, gen.front, objective)
        colour = cmap(norm(gen.gen))
        steps = staircase(pts)
        ax.step(steps[:, 0], steps[:, 1], where="post", color=colour, linewidth=0.8, alpha=0.6, zorder=2)
        # Earlier generations get bigger markers, so a candidate that survives shows as rings.
        ax.scatter(pts[:, 0], pts[:, 1], s=22 + 50 * (last - gen.gen) / last, color=colour,
                   edgecolors="white", linewidths=0.5, zorder=2)
    final = staircase(cost_points(data, data.final_front, objective))
    if len(final):
        ax.step(final[:, 0], final[:, 1], where="post", color="black", linewidth=1.2, zorder=3,
                label="search's front (every candidate evaluated)")
    over = cost_points(data, over_budget(data), objective)
    if len(over):
        ax.scatter(over[:, 0], over[:, 1], marker="s", s=26, facecolors="none", edgecolors="tab:orange",
                   linewidths=1.0, zorder=5, label="over --max-cycles/--max-params (not on the front)")
    unfit = cost_points(data, unfittable(data), objective)
    if len(unfit):
        ax.scatter(unfit[:, 0], unfit[:, 1], marker="x", s=28, color="tab:red", linewidths=1.0, zorder=5,
                   label="does not fit GAP8 memory")
    supernet = cost_points(data, [data.supernet_key], objective)
    ax.scatter(supernet[:, 0], supernet[:, 1], marker="*", s=220, color="tab:red", edgecolors="black",
               linewidths=0.6, zorder=4, label="supernet")
    colorbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="generation")
    colorbar.locator = MaxNLocator(integer=True)
    colorbar.update_ticks()
    ax.set_xlabel(_cost_label(data, objective))
    ax.set_ylabel("mIoU error on the search subset, no fine-tuning (%)")
    ax.set_title(f"Pareto front over generations — {data.backbone}, error vs {objective} "
                 f"(M={data.config.get('population')}, G={len(data.generations)})", fontsize=10)
    ax.grid(True, color="0.92", zorder=0)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def over_budget(data: SearchData) -> list[str]:
    """Keys of the evaluated candidates whose figures break a budget of the search."""
    return [k for k, r in data.evaluations.items() if r.status == Status.OK and data.limits.broken(r)]


def unfittable(data: SearchData) -> list[str]:
    """Keys of the evaluated candidates whose memory plan does not fit GAP8."""
    return [k for k, r in data.evaluations.items() if r.status == Status.OK and r.fits_gap8 is False]


def _generation_colours(n: int) -> tuple[Any, BoundaryNorm]:
    """A sequential colormap with one colour per generation and its discrete norm."""
    n = max(n, 2)  # a colorbar needs two bins even for a single generation
    cmap = ListedColormap(matplotlib.colormaps[CMAP](np.linspace(0.12, 1.0, n)), name="generations")
    norm = BoundaryNorm(np.arange(-0.5, n + 0.5), cmap.N)
    return cmap, norm


def _cost_label(data: SearchData, objective: str) -> str:
    """Axis label; cycles name their source so estimates never pass for measurements."""
    label = AXES[objective][1]
    if objective == "flops":  # counted at the search's input size, unlike the cycles (384 px)
        return f"FLOPs at {data.input_size} px (G)"
    if objective != "latency":
        return label
    sources = sorted({source_title(r.cycles_source) for r in data.evaluations.values() if r.cycles is not None})
    return f"{label[:-1]}, {' / '.join(sources) or 'no source'})"


# -- hypervolume ------------------------------------------------------------------------------
def hypervolume_figure(data: SearchData) -> Figure:
    """Hypervolume per generation (top) and its change from the previous generation (bottom)."""
    gens = np.array([g.gen for g in data.generations])
    hv = np.array(data.archive_hypervolume, dtype=float)
    fig = Figure(figsize=(6.5, 4.8))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    top.plot(gens, hv, marker="o", color="tab:blue", label="search's front (every candidate evaluated)")
    top.plot(gens, [g.hypervolume for g in data.generations], linestyle="--", color="0.55",
             label="population front (NSGA-II's working set)")
    top.legend(fontsize=7, loc="lower right")
    reference = ", ".join(f"{v:g}" for v in data.reference_point)
    top.set_ylabel("hypervolume")
    top.set_title(f"Hypervolume per generation (normalised objectives, reference ({reference}))",
                  fontsize=9)
    change = np.zeros_like(hv)
    change[1:] = 100 * np.diff(hv) / np.where(hv[:-1] == 0, np.nan, hv[:-1])
    bottom.bar(gens[1:], np.nan_to_num(change[1:]), color="tab:gray")
    bottom.axhline(0, color="black", linewidth=0.6)
    bottom.set_ylabel("change (%)")
    bottom.set_xlabel("generation")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (top, bottom):
        ax.grid(True, color="0.92")
    return fig


# -- proxy fidelity ---------------------------------------------------------------------------
def fidelity_figure(fid: Fidelity) -> Figure:
    """Search proxy error vs fine-tuned full-set error, one labelled point per candidate."""
    x = np.array([100 * r["error_subset"] for r in fid.rows])
    y = np.array([100 * r["error_full_after"] for r in fid.rows])
    fig = Figure(figsize=(5.5, 5.0))
    ax = fig.add_subplot()
    low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    pad = max(0.5, 0.05 * (high - low))
    ax.plot([low - pad, high + pad], [low - pad, high + pad], linestyle="--", color="0.6", label="y = x")
    ax.scatter(x, y, color="tab:blue", zorder=3)
    for row, xi, yi in zip(fid.rows, x, y, strict=True):
        ax.annotate(row["name"], (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=8)
    tau = "undefined" if fid.kendall_tau is None else f"{fid.kendall_tau:.3f}"
    p = "" if fid.p_value is None else f" (p = {fid.p_value:.3g}, n = {fid.n})"
    ax.set_title(f"Proxy fidelity: Kendall τ = {tau}{p}, Δ mIoU {fid.delta_min:+.2f} … {fid.delta_max:+.2f} points",
                 fontsize=9)
    ax.set_xlabel("error on the search subset, no fine-tuning (%)")
    ax.set_ylabel("error on the full validation set, fine-tuned (%)")
    ax.grid(True, color="0.92")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def front_fidelity_figure(front: FrontFidelity) -> Figure:
    """Subset error vs full-set error (no fine-tuning) of the final front: y = x and the ±2 point band."""
    x = np.array([100 * r["error_subset"] for r in front.rows])
    y = np.array([100 * r["error_full_no_ft"] for r in front.rows])
    fig = Figure(figsize=(5.5, 5.0))
    ax = fig.add_subplot()
    low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    pad = max(GAP_BAND_POINTS + 0.5, 0.05 * (high - low))
    line = np.array([low - pad, high + pad])
    ax.fill_between(line, line - GAP_BAND_POINTS, line + GAP_BAND_POINTS, color="tab:green", alpha=0.12,
                    label=f"±{GAP_BAND_POINTS:g} points")
    ax.plot(line, line, linestyle="--", color="0.6", label="y = x")
    ax.scatter(x, y, color="tab:blue", zorder=3)
    for row, xi, yi in zip(front.rows, x, y, strict=True):
        ax.annotate(row["name"], (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=8)
    tau = "undefined" if front.kendall_tau is None else f"{front.kendall_tau:.3f}"
    ax.set_title(f"Subset vs full set, no fine-tuning ({front.n} of {front.front_size} front members): "
                 f"max |gap| {front.max_abs_gap:.2f} points, Kendall τ = {tau}", fontsize=9)
    ax.set_xlim(line[0], line[1])
    ax.set_ylim(line[0], line[1])
    ax.set_xlabel("error on the search subset, no fine-tuning (%)")
    ax.set_ylabel("error on the full validation set, no fine-tuning (%)")
    ax.grid(True, color="0.92")
    ax.legend(loc="upper left", fontsize=8)
    return fig
