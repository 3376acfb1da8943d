"""Build the measurement strategy a search config asks for (:func:`.strategy.plan_measurement`),
with its accuracy backend and, for the modes that measure, its measurement workers."""

from __future__ import annotations

from ...store import Store
from ...targets.base import Target
from ..backends import accuracy_backend
from ..config import SearchConfig
from .front_strategy import MeasureFrontStrategy
from .measure_all import MeasureAllStrategy, measurement_source
from .strategy import ALL, FRONT, InlineStrategy, MeasurementStrategy, plan_measurement


def choose_strategy(config: SearchConfig, target: Target, store: Store, supernet_key: str) -> MeasurementStrategy:
    """The strategy of ``config`` on ``target``, its workers started.

    Args:
        config: the resolved search config.
        target: the search's target.
        store: the search's open store.
        supernet_key: the arch key of the supernet (always measured).

    Raises:
        ConfigError: a scheduler that cannot be reached, or a measurement set-up problem.
        WeightsError: the weights' manifest is unreadable (measurement workers).
        StoreError: a resumed ``--measure front`` search without the estimate it learnt.
    """
    plan = plan_measurement(config, target)
    accuracy = accuracy_backend(config, plan.orders)
    try:
        if plan.mode == ALL:
            return MeasureAllStrategy(config, plan.orders, accuracy, measurement_source(config, target, accuracy))
        if plan.mode == FRONT:
            pool = measurement_source(config, target, accuracy, learn_on_finish=False)
            try:
                return MeasureFrontStrategy(config, plan.orders, accuracy, pool, store, supernet_key)
            except BaseException:
                pool.close()
                raise
    except BaseException:
        accuracy.close()
        raise
    return InlineStrategy(config, plan.orders, accuracy)
