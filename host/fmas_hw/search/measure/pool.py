"""The local measurement workers of a search whose target runs a project per candidate (GVSoC, a board).

On such a target a candidate's accuracy costs seconds and its measurement minutes, so the two
run on separate pools: the accuracy workers (:mod:`.backends`) score the error, and as soon as a
candidate's accuracy is in, its measurement goes to one of N measurement workers here. A
generation's candidates thus stream through both pools at once. (On a Dask cluster whose workers
declare a ``measure`` resource the measurements go there instead: :mod:`.dask_pool`.)

A measurement worker is a thread of the search process that owns one target instance: the work
is a ``make run`` subprocess (GVSoC) or a serial read (board), so threads overlap it fully, and
each board port gets its own worker (``ports``). The workers share one
:class:`~.measurer.Measurer` (one :class:`~fmas_hw.gap8.generated_projects.GeneratedProjects`, which
generates one project at a time).

The longest measurements start first: queued candidates wait in the order of their estimated
cycles, largest first (longest-processing-time-first), because a generation waits for its last
measurement and a long run started last would keep every other worker idle meanwhile. Behind
them wait the measurements made ahead (:mod:`.ahead`): candidates the next generation will likely
ask for, measured by workers that would otherwise idle; one the search then asks for moves up.
The order and what the runs teach the estimate are the :class:`~.service.MeasurementService`'s;
a :class:`~fmas_hw.search.executors.threads.ThreadExecutor` only runs the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...space import Arch
from ...targets.base import Target
from ..config import SearchConfig
from ..executors.threads import ThreadExecutor
from .measurer import Measurer
from .service import MeasurementService


def local_measurements(config: SearchConfig, target: Target, learn_on_finish: bool = True) -> MeasurementService:
    """The measurements of a search on measurement workers of this process: one per board port,
    else ``config.measure_workers``, each with its own target (for a board: its own port).

    Args:
        config: a resolved search config.
        target: the search's target, one that runs projects.
        learn_on_finish: as :class:`~.service.MeasurementService`.

    Raises:
        ConfigError: the config has no store (the projects live next to it).
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """
    ports: list[str | None] = list(config.ports) or [None] * config.measure_workers
    measurer = Measurer(config, target, ports)

    def job(arch: Arch) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return measurer.measure, (arch,)

    return MeasurementService(config, ThreadExecutor(len(ports)), job, learn_on_finish=learn_on_finish)
