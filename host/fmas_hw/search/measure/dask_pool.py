"""Measurements as Dask tasks, on the workers of a cluster that declare a ``measure`` resource.

Start one such worker per GVSoC slot or per board, on the hosts that have the SDK or the boards::

    dask worker tcp://SCHEDULER:8786 --nthreads 1 --resources "measure=1"        # a GVSoC slot
    FMAS_BOARD_PORT=/dev/ttyUSB0 dask worker tcp://SCHEDULER:8786 --nthreads 1 --resources "measure=1"
    dask worker tcp://SCHEDULER:8786 --nthreads 1 --resources "accuracy=1"        # the GPU host

Each candidate's measurement is one :func:`~.measurer.measure_task` submitted with
``resources={"measure": 1}``, so Dask runs at most one per declared slot, on those workers only,
and with its estimated Mcycles as the task's priority, so the longest runs start first (as on
the local pool).
Each worker process builds its :class:`~.measurer.Measurer` once (target, project folder) and
writes the candidates' projects under the store's ``projects/`` folder by the same path as the
search host (a shared file system keeps them in one place; else each host keeps its own). The
task returns the run's calibration records with its measurement, and the search's one
:class:`~.learner.Learner` learns from them in the search process.

A :class:`~fmas_hw.search.executors.cluster.DaskExecutor` on the ``measure`` resource is the
executor of the search's :class:`~.service.MeasurementService` there, as threads of the search
process are on this host: the order of the runs and what they teach are the service's either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...space import Arch
from ...targets.base import Target
from ..backends import MEASURE
from ..config import SearchConfig
from ..executors.cluster import DaskExecutor
from .measurer import MeasuredRun, measure_task
from .service import MeasurementService


def dask_measurements(client: Any, config: SearchConfig, target: Target, slots: int,
                      learn_on_finish: bool = True) -> MeasurementService:
    """The measurements of a search on the ``measure`` slots of a Dask cluster.

    Args:
        client: a connected ``distributed.Client``.
        config: a resolved search config.
        target: the search's target, one that runs projects (sent to the workers with each task).
        slots: how many ``measure`` slots the cluster's workers declare (the measurements that
            run at once: the online model refits its constants once per round of them).
        learn_on_finish: as :class:`~.service.MeasurementService`.

    Raises:
        ConfigError: the config has no store (the projects and the online model live next to it).
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """
    config_data = config.to_dict()

    def job(arch: Arch) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return measure_task, (config_data, target, arch.to_dict())

    def finish(result: dict[str, Any]) -> MeasuredRun:
        run = MeasuredRun.from_dict(result)
        target.checked(run.measurement)  # figures from another process enter the search here
        return run

    return MeasurementService(config, DaskExecutor(client, slots, MEASURE), job, finish, learn_on_finish)
