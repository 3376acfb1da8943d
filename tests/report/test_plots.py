"""Plots: every figure exists as a non-empty PNG and SVG, and the front helpers are right."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.report import load
from fmas_hw.report.plots import hypervolume_figure, save, staircase

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png_svg(files: dict) -> None:
    png, svg = files["png"], files["svg"]
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1024
    text = svg.read_text()
    assert "<svg" in text[:1000] and svg.stat().st_size > 1024


def test_front_and_hypervolume_plots(mnv2_report):
    assert set(mnv2_report.plots) == {"front-flops", "front-latency", "hypervolume"}
    for files in mnv2_report.plots.values():
        _check_png_svg(files)


def test_fidelity_plot_when_fine_tuned(finetuned_report):
    assert "fidelity" in finetuned_report.plots
    _check_png_svg(finetuned_report.plots["fidelity"])


def test_latency_axis_names_the_cycle_source(mnv2_report):
    assert "GAP8 cycles (M, estimate)" in mnv2_report.plots["front-latency"]["svg"].read_text()


def test_svg_is_reproducible(mnv2_report, tmp_path):
    first = mnv2_report.plots["hypervolume"]["svg"].read_text()
    assert "<dc:date>" not in first
    again = save(hypervolume_figure(load(mnv2_report.summary["store"])), tmp_path / "hv")
    assert again["svg"].read_text() == first


def test_staircase_keeps_the_two_dimensional_front():
    points = np.array([[3.0, 0.30], [1.0, 0.50], [2.0, 0.45], [2.5, 0.46], [1.0, 0.55]])
    assert staircase(points).tolist() == [[1.0, 0.50], [2.0, 0.45], [3.0, 0.30]]


@pytest.mark.parametrize("n", [0, 1], ids=["empty", "one"])
def test_staircase_small(n):
    assert staircase(np.array([[1.0, 0.2]])[:n]).shape == (n, 2)


def test_fidelity_title_gives_tau_with_its_p_value(finetuned_report):
    from fmas_hw.report.fidelity import Fidelity
    from fmas_hw.report.plots import fidelity_figure

    rows = [{"name": f"P{i}", "error_subset": s, "error_full_after": a}
            for i, (s, a) in enumerate([(0.30, 0.29), (0.32, 0.31), (0.35, 0.36), (0.40, 0.38)], 1)]
    fid = Fidelity(rows=rows, kendall_tau=0.667, p_value=0.3333, delta_min=-1.0, delta_max=2.0, delta_mean=0.5)
    title = fidelity_figure(fid).axes[0].get_title()
    assert "Kendall τ = 0.667 (p = 0.333, n = 4)" in title
    undefined = Fidelity(rows=rows, kendall_tau=None, p_value=None, delta_min=-1.0, delta_max=2.0, delta_mean=0.5)
    assert "τ = undefined," in fidelity_figure(undefined).axes[0].get_title()


def test_unfittable_candidates_are_crossed_and_flops_name_their_input_size(xception_store, mnv2_store):
    from fmas_hw.report.plots import front_figure

    data = load(xception_store)
    labels = front_figure(data, "params").axes[0].get_legend_handles_labels()[1]
    assert "does not fit GAP8 memory" in labels
    mnv2 = front_figure(load(mnv2_store), "flops").axes[0]
    assert mnv2.get_xlabel() == "FLOPs at 384 px (G)"  # the search's (default) input size
    assert "does not fit GAP8 memory" not in mnv2.get_legend_handles_labels()[1]
