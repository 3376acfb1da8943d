"""What gets measured, and when: the one decision a search's measurement side makes.

:func:`plan_measurement` reads the config once and picks a mode: ``inline`` (the accuracy workers
score the cycles next to the accuracy with a cheap target, or no cycles are needed), ``all``
(every candidate is measured on measurement workers beside the accuracy workers) or ``front``
(every candidate gets the estimate; only those that can still change the front are measured).
The plan's :class:`~fmas_hw.search.worker.WorkerOrders` travel with every accuracy task, so no
worker re-derives them.

A :class:`MeasurementStrategy` carries the plan out. The search loop calls it at fixed points
and never asks which mode it runs: before asking for a generation (:meth:`~MeasurementStrategy.
before_ask`), to evaluate the generation's new candidates (:meth:`~MeasurementStrategy.evaluate`),
once they are scored (:meth:`~MeasurementStrategy.after_scoring`) and at the end
(:meth:`~MeasurementStrategy.finish`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ...errors import ConfigError
from ...space import Arch
from ...store import Evaluation, EvaluationRecord
from ...targets.base import Target
from ...targets.estimate import EstimateTarget
from ...targets.measurement import Measurement
from ..backends import Backend, Task
from ..config import SearchConfig
from ..worker import WorkerOrders

INLINE, ALL, FRONT = "inline", "all", "front"

#: A candidate to evaluate and whether it is the reference (the supernet).
Candidate = tuple[Arch, bool]
#: The search's guess at its next generation, from the candidates still measured (index ->
#: accuracy outcome) given their estimates by the function passed in: see :mod:`.ahead`.
NextGuess = Callable[[dict[int, Evaluation], Callable[[Arch], Measurement]], list[Arch]]


@dataclass(frozen=True)
class MeasurementPlan:
    """How a search gets its candidates' cycles.

    Attributes:
        mode: :data:`INLINE`, :data:`ALL` or :data:`FRONT`.
        orders: what the accuracy workers do about the cycles.
    """

    mode: str
    orders: WorkerOrders


def plan_measurement(config: SearchConfig, target: Target) -> MeasurementPlan:
    """The plan of ``config`` on ``target``: cycles are needed for a latency objective or a cycle
    budget, and always with a cheap target (one that needs no project), so that every candidate
    records all three costs (SPEC §4); a target that runs a project per candidate measures on
    measurement workers, every candidate or (``measure="front"``) only those that can matter.

    Raises:
        ConfigError: ``measure="front"`` on a target that runs no project, or ports for a target
            on no device.
    """
    runs_projects = target.needs_project
    if config.measure == FRONT and not runs_projects:
        raise ConfigError(f"--measure front estimates first and measures the promising candidates: it needs "
                          f"a target that runs projects (gvsoc, board), not {target.name!r}")
    if config.ports and not target.needs_exclusive_device:
        raise ConfigError(f"ports name the devices of a target that runs on one; the {target.name!r} "
                          "target takes none")
    if not ("latency" in config.objectives or config.max_cycles is not None or not runs_projects):
        return MeasurementPlan(INLINE, WorkerOrders(None, measured=False))
    if not runs_projects:
        return MeasurementPlan(INLINE, WorkerOrders(target, measured=True))
    if config.measure == FRONT:  # the workers estimate; the strategy measures what can matter
        return MeasurementPlan(FRONT, WorkerOrders(EstimateTarget(), measured=True))
    return MeasurementPlan(ALL, WorkerOrders(None, measured=True))


class MeasurementStrategy(ABC):
    """Carries out a :class:`MeasurementPlan` for one search run.

    Args:
        config: the resolved search config.
        orders: what its accuracy workers do about the cycles.
    """

    def __init__(self, config: SearchConfig, orders: WorkerOrders) -> None:
        self.config_data = config.to_dict()
        self.orders = orders

    def tasks(self, candidates: list[Candidate]) -> list[Task]:
        """The accuracy tasks of ``candidates``: :func:`~fmas_hw.search.worker.run_task`'s arguments."""
        return [(self.config_data, arch.to_dict(), reference, self.orders) for arch, reference in candidates]

    def before_ask(self, gen: int, population: list[str]) -> bool:
        """Called before generation ``gen`` is asked for; True when figures of the current
        ``population`` (arch keys) changed, so the loop ranks it again first."""
        return False

    @abstractmethod
    def evaluate(self, candidates: list[Candidate],
                 guess: NextGuess | None = None) -> Iterator[tuple[int, Evaluation]]:
        """Score ``candidates``; yields ``(index, outcome)`` as each is complete.

        Args:
            candidates: the generation's candidates missing from the store.
            guess: what the next generation would be (None on the last generation).
        """

    def after_scoring(self, gen: int, records: dict[str, EvaluationRecord]) -> dict[str, EvaluationRecord]:
        """Called with every record of generation ``gen`` before the GA is told; returns them as
        the search is to be told them."""
        return records

    def finish(self, generations: int) -> None:
        """Called once the search's last generation is done."""
        return None

    def made_ahead(self) -> dict[str, int]:
        """What became of the measurements made ahead (empty when none was)."""
        return {}

    @abstractmethod
    def close(self) -> None:
        """Release the workers."""


class InlineStrategy(MeasurementStrategy):
    """The accuracy workers score the cycles (or none are needed): nothing else to run."""

    def __init__(self, config: SearchConfig, orders: WorkerOrders, accuracy: Backend) -> None:
        super().__init__(config, orders)
        self.accuracy = accuracy

    def evaluate(self, candidates: list[Candidate],
                 guess: NextGuess | None = None) -> Iterator[tuple[int, Evaluation]]:
        return self.accuracy.run(self.tasks(candidates))

    def close(self) -> None:
        self.accuracy.close()
