"""What gets measured, and when: the plan a search config gives, decided in one place."""

from __future__ import annotations

import pytest

from fmas_hw.search import SearchConfig
from fmas_hw.search.measure.strategy import ALL, FRONT, INLINE, MeasurementPlan, plan_measurement
from fmas_hw.search.worker import WorkerOrders


def test_cycles_are_measured_for_latency_a_budget_or_a_cheap_target():
    assert plan_measurement(SearchConfig(target="estimate")).orders.measured  # cheap: always record cycles
    assert not plan_measurement(SearchConfig(target="gvsoc", objectives=("flops",))).orders.measured
    assert plan_measurement(SearchConfig(target="gvsoc", objectives=("latency",))).orders.measured
    assert plan_measurement(SearchConfig(target="board", max_cycles=10)).orders.measured


@pytest.mark.parametrize("values, plan", [
    ({"target": "estimate"}, MeasurementPlan(INLINE, WorkerOrders("estimate", measured=True))),
    ({"target": "gvsoc", "objectives": ("flops",)}, MeasurementPlan(INLINE, WorkerOrders(None, measured=False))),
    ({"target": "gvsoc", "objectives": ("latency",)}, MeasurementPlan(ALL, WorkerOrders(None, measured=True))),
    ({"target": "board", "objectives": ("latency",), "measure": "front"},
     MeasurementPlan(FRONT, WorkerOrders("estimate", measured=True))),
], ids=["estimate", "gvsoc-no-latency", "gvsoc-measure-all", "board-measure-front"])
def test_each_config_has_one_plan(values, plan):
    assert plan_measurement(SearchConfig(**values)) == plan


def test_worker_orders_round_trip_through_their_wire_form():
    orders = WorkerOrders("estimate", measured=True)
    assert WorkerOrders.from_dict(orders.to_dict()) == orders
    assert WorkerOrders.from_dict({}) == WorkerOrders(None, measured=False)
