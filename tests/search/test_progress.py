"""The end-of-search summary: every cost with its unit, cycles with their source and GAP8 fit."""

from __future__ import annotations

from pathlib import Path

from fmas_hw.search.progress import format_summary
from fmas_hw.search.result import SearchResult


def _result(**entry) -> SearchResult:
    base = {"genome": "0101", "key": "k", "error": 0.3, "flops": 2_170_000_000, "params": 3_450_000,
            "cycles": 2_170_000_000, "cycles_source": "estimate", "fits_gap8": True}
    base.update(entry)
    base["latency"] = base["cycles"]
    return SearchResult(Path("s.sqlite"), evaluations=1, generations=1, front=[base], hypervolume=[0.5])


def test_cycles_carry_unit_and_source_and_other_costs_their_unit():
    text = format_summary(_result(), ("flops", "params", "latency"))
    assert "2170 Mcycles (estimate)" in text and "2.17 GFLOPs" in text and "3.45 M params" in text
    assert "2.17G" not in text and "does not fit" not in text


def test_cycles_are_shown_even_when_latency_is_not_an_objective():
    text = format_summary(_result(cycles_source="gvsoc"), ("flops",))
    assert "GAP8 latency" in text and "2170 Mcycles (GVSoC)" in text


def test_a_network_that_does_not_fit_is_flagged():
    text = format_summary(_result(fits_gap8=False), ("latency",))
    assert "2170 Mcycles (estimate; does not fit GAP8)" in text


def test_the_summary_says_what_was_measured_ahead_only_when_something_was():
    assert "measured ahead" not in format_summary(_result(), ("latency",))
    result = _result()
    result.measured_ahead = {"made": 30, "used": 26, "cancelled": 3, "wasted": 1}
    text = format_summary(result, ("latency",))
    assert "measured ahead of their generation: 30 guessed, 26 asked for, 3 cancelled, 1 measured for nothing" in text
