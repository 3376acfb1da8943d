"""Cycle figures in text: unit, source title from the registry, and the GAP8 fit flag."""

from __future__ import annotations

import pytest

from fmas_hw.targets.figures import cycles_text, source_title


@pytest.mark.parametrize(("source", "title"), [
    ("estimate", "estimate"), ("gvsoc", "GVSoC"), ("board", "board"), ("simulated", "simulated GAP8"),
    (None, "source unknown"), ("an-old-tool", "an-old-tool"),
], ids=["estimate", "gvsoc", "board", "simulated", "none", "unregistered"])
def test_source_title(source, title):
    assert source_title(source) == title


def test_every_figure_has_unit_and_source_and_a_misfit_says_so():
    assert cycles_text(9_784_144_590, "estimate") == "9784 Mcycles (estimate)"
    assert cycles_text(9_784_144_590, "estimate", fits=False) == "9784 Mcycles (estimate; does not fit GAP8)"
    assert cycles_text(812_345, "board", fits=True) == "0.812 Mcycles (board)"
    assert cycles_text(None, "estimate", fits=False) == "–"
