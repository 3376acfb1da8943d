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
