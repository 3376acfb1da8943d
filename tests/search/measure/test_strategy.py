"""What gets measured, and when: the plan a search config gives, decided in one place."""

from __future__ import annotations

import pickle

import pytest

from fmas_hw.errors import ConfigError
from fmas_hw.search import SearchConfig
from fmas_hw.search.measure.strategy import ALL, FRONT, INLINE, plan_measurement
from fmas_hw.search.worker import WorkerOrders
from fmas_hw.targets.estimate import EstimateTarget
from fmas_hw.targets.registry import open_target


def _plan(**values) -> tuple[str, str | None, bool]:
    """(mode, the name of the target the accuracy workers score cycles with, measured)."""
    config = SearchConfig(**values)
    plan = plan_measurement(config, open_target(config.target))
    target = plan.orders.latency_target
    return plan.mode, None if target is None else target.name, plan.orders.measured


def test_cycles_are_measured_for_latency_a_budget_or_a_cheap_target():
    assert _plan(target="estimate")[2]  # cheap: always record cycles
    assert not _plan(target="gvsoc", objectives=("flops",))[2]
    assert _plan(target="gvsoc", objectives=("latency",))[2]
    assert _plan(target="board", max_cycles=10)[2]


@pytest.mark.parametrize("values, plan", [
    ({"target": "estimate"}, (INLINE, "estimate", True)),
    ({"target": "gvsoc", "objectives": ("flops",)}, (INLINE, None, False)),
    ({"target": "gvsoc", "objectives": ("latency",)}, (ALL, None, True)),
    ({"target": "board", "objectives": ("latency",), "measure": "front"}, (FRONT, "estimate", True)),
], ids=["estimate", "gvsoc-no-latency", "gvsoc-measure-all", "board-measure-front"])
def test_each_config_has_one_plan(values, plan):
    assert _plan(**values) == plan


def test_a_plan_the_target_cannot_serve_is_a_config_error():
    with pytest.raises(ConfigError, match="needs a target that runs projects"):
        _plan(target="estimate", measure="front")
    with pytest.raises(ConfigError, match="ports name the devices of a target that runs on one"):
        _plan(target="simulated", ports=("/dev/ttyUSB0",))


def test_worker_orders_travel_to_a_worker_process_as_they_are():
    orders = WorkerOrders(EstimateTarget(), measured=True)
    copy = pickle.loads(pickle.dumps(orders))
    assert copy.measured and copy.key == orders.key == EstimateTarget().identity()
    assert WorkerOrders().key == "" and not WorkerOrders().measured
