"""The GAP8 fit verdict: each memory level's use / availability, read off the memory plan."""

from __future__ import annotations

import pytest

from fmas_hw.gap8.arch_graph import plan_arch
from fmas_hw.gap8.fit import candidate_fit, fit_verdict, not_runnable_label
from fmas_hw.space import MobileNetV2Space, XceptionSpace

LEVELS = ["L1 tiles", "L2 peak", "L3 HyperRAM", "flash"]


@pytest.fixture(scope="module")
def xception_plan():
    return plan_arch(XceptionSpace().supernet(), classes=3)


def test_an_unfittable_network_names_the_level_over_and_by_how_much(xception_plan):
    verdict = fit_verdict(xception_plan)
    assert not verdict.fits and [lv.name for lv in verdict.levels] == LEVELS
    l3 = verdict.levels[2]
    assert l3.over and l3.hard
    assert l3.used == xception_plan.weight_bytes - xception_plan.promoted_weight_bytes \
        + xception_plan.l3_activation_peak
    assert l3.available == xception_plan.budgets.l3_ram
    assert "DOES NOT FIT" in verdict.headline and "L3 HyperRAM over by" in verdict.headline
    assert any("OVER by" in line and "L3 HyperRAM" in line for line in verdict.lines())


def test_the_verdict_is_the_memory_plans_and_spilling_never_fails():
    plan = plan_arch(MobileNetV2Space().supernet(), classes=3, alpha=0.35, input_size=384)
    verdict = fit_verdict(plan)
    assert verdict.fits == plan.fits is True
    l2 = verdict.levels[1]
    assert plan.spilled and not l2.hard  # activations spill to L3 at 384 px: slower, not a failure
    assert verdict.headline.startswith("fits") and "OVER" not in "\n".join(verdict.lines())


def test_json_form_has_bytes_used_and_available_per_level(xception_plan):
    data = fit_verdict(xception_plan).to_dict()
    assert data["fits"] is False and data["input_size"] == 384 and "HyperRAM" in data["reason"]
    by_name = {lv["name"]: lv for lv in data["levels"]}
    assert set(by_name) == set(LEVELS)
    assert by_name["L3 HyperRAM"]["over"] is True and by_name["flash"]["over"] is False
    assert all(lv["used_bytes"] > 0 and lv["available_bytes"] > 0 for lv in data["levels"])


def test_candidate_fit_plans_at_the_input_size_asked_for():
    small = candidate_fit(MobileNetV2Space().supernet(), 3, 0.35, input_size=128)
    large = candidate_fit(MobileNetV2Space().supernet(), 3, 0.35, input_size=768)
    assert small.fits and not large.fits and large.input_size == 768
    assert small.levels[2].used < large.levels[2].used


def test_a_figure_for_an_unrunnable_network_says_so():
    assert not_runnable_label("estimated (estimate)").startswith("estimated (estimate), ")
    assert "NOT FIT" in not_runnable_label("estimated (estimate)")


def test_a_candidate_that_cannot_be_planned_has_an_unknown_fit(monkeypatch):
    from fmas_hw.errors import AdaptationError
    from fmas_hw.gap8 import fit

    def fail(*args, **kwargs):
        raise AdaptationError("layer 'x' has no GAP8 kernel")

    monkeypatch.setattr(fit, "plan_arch", fail)
    verdict = fit.known_fit(MobileNetV2Space().supernet(), 3, 0.35)
    assert verdict.fits is None and verdict.levels == ()
    assert verdict.headline.startswith("unknown (the memory plan failed: layer 'x' has no GAP8 kernel")
    assert verdict.to_dict()["fits"] is None
    with pytest.raises(AdaptationError):  # export's strict form refuses to guess
        fit.candidate_fit(MobileNetV2Space().supernet(), 3, 0.35)
