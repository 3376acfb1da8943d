"""Where candidates are evaluated: in-process, local worker processes, or a Dask cluster.

All three run the same task, :func:`fmas_hw.search.worker.run_task`, and yield
``(index, outcome)`` pairs as candidates finish, so the search commits each result to the store
the moment it exists, whatever the completion order. Results are placed by index, so the order
in which workers finish never changes the search.

Clusters are Dask distributed ones (why: docs/design.md, "Dask for clusters").

On a cluster the two sides of a search are told apart by Dask worker resources: a worker started
with ``dask worker ADDRESS --resources "accuracy=1"`` (the GPU host) takes the accuracy tasks,
one with ``--resources "measure=1"`` (a GVSoC or board host: one per simulator slot, one per
board) the measurements of a target that runs projects (:mod:`.measure.dask_pool`). The search
reads which workers declare what once, when it connects; a cluster that declares neither runs the
accuracy tasks on any worker and the measurements in the search process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor, Future, as_completed
from typing import Any, Protocol

from ..errors import ConfigError
from ..store import Evaluation, Status
from .config import SearchConfig
from .executors import Executor
from .executors.cluster import DaskExecutor
from .executors.processes import ProcessExecutor
from .threads import limit_threads, worker_share
from .worker import WorkerOrders, run_task, start_worker

#: (config, arch, reference, orders): :func:`~.worker.run_task`'s arguments.
Task = tuple[dict[str, Any], dict[str, Any], bool, WorkerOrders]
#: The Dask worker resources a search routes its tasks by (see the module docstring).
ACCURACY, MEASURE = "accuracy", "measure"

log = logging.getLogger(__name__)


class Backend(Protocol):
    """Runs tasks and yields ``(index, Evaluation)`` as each finishes."""

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, Evaluation]]:
        """Evaluate ``tasks``; raises only for set-up errors (e.g. the evaluator cannot be built)."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...


class InProcessBackend:
    """``--workers 1``: evaluate in the search process itself, one candidate at a time.

    Args:
        threads: hold the search process's TensorFlow to this many threads; None (the default)
            leaves it alone, as one worker has the machine to itself.
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        if threads is not None:
            limit_threads(threads)

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, Evaluation]]:
        for index, task in enumerate(tasks):
            yield index, Evaluation.from_dict(run_task(*task))

    def close(self) -> None:
        return None


class ExecutorBackend:
    """Tasks submitted to an :class:`~.executors.Executor` at once, yielded as they finish.

    A task the executor lost (:meth:`~.executors.Executor.lost`) is a failed evaluation. When the
    executor breaks (a local worker process died: a segfault, out of memory) the culprit cannot
    be told apart from its neighbours, so the executor is restarted and the unfinished tasks are
    retried one at a time; one that breaks it alone fails.

    Args:
        executor: where the tasks run.
    """

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, Evaluation]]:
        pending = dict(enumerate(tasks))
        try:
            yield from self._run_together(pending)
        except BrokenExecutor:
            self.executor.restart()
            for index in sorted(pending):
                yield index, self._run_alone(pending.pop(index))

    def _run_together(self, pending: dict[int, Task]) -> Iterator[tuple[int, Evaluation]]:
        futures = {self.executor.submit(run_task, task): i for i, task in pending.items()}
        try:
            for future in as_completed(futures):
                index = futures[future]
                outcome = self._outcome(future)
                del pending[index]
                yield index, outcome
        finally:
            for future in futures:
                future.cancel()

    def _run_alone(self, task: Task) -> Evaluation:
        try:
            return self._outcome(self.executor.submit(run_task, task))
        except BrokenExecutor:
            self.executor.restart()
            return Evaluation(status=Status.FAILED, reason="the worker process died while evaluating this "
                                                           "candidate (crash or out of memory)")

    def _outcome(self, future: Future[Any]) -> Evaluation:
        """The evaluation a finished task returned, or a failed one for a task the executor lost.

        Raises:
            BrokenExecutor: the executor broke.
            Exception: a set-up error of the task (e.g. the evaluator cannot be built).
        """
        try:
            return Evaluation.from_dict(future.result())
        except BrokenExecutor:
            raise
        except Exception as exc:
            reason = self.executor.lost(exc)
            if reason is None:
                raise
            return Evaluation(status=Status.FAILED, reason=reason)

    def close(self) -> None:
        self.executor.close()


class ProcessPoolBackend(ExecutorBackend):
    """``--workers N``: N spawned local processes (:class:`~.executors.processes.ProcessExecutor`),
    each building its evaluator once.

    Each worker exits when the search process is gone (:func:`~.worker.exit_with_parent`), so a
    killed search leaves no process behind. Each process is held to ``threads`` threads before
    its evaluator is built (:mod:`.threads`: TensorFlow would otherwise give every worker every
    core, and the workers would fight over them).

    Args:
        config: the search configuration.
        orders: what the workers do about the cycles (their evaluator is built for it).
        workers: worker processes.
        threads: threads per worker (default: ``config.threads_per_worker``, else the cores
            shared out, :func:`~.threads.worker_share`).
    """

    def __init__(self, config: SearchConfig, orders: WorkerOrders, workers: int,
                 threads: int | None = None) -> None:
        self.threads = threads if threads is not None else worker_share(workers, config.threads_per_worker)
        log.info("%d local workers, %s thread(s) each", workers, self.threads)
        slots = multiprocessing.get_context("spawn").Value("i", 0)  # worker i takes GPU i
        super().__init__(ProcessExecutor(workers, start_worker,
                                         (config.to_dict(), orders, self.threads, os.getpid(), slots)))


class DaskBackend(ExecutorBackend):
    """``--scheduler ADDRESS``: tasks go to an existing Dask distributed cluster.

    Each Dask worker process builds its evaluator once and keeps it (cached by config digest in
    :mod:`fmas_hw.search.worker`). A worker that dies is handled by Dask, which reruns its tasks
    elsewhere; a candidate that keeps killing workers ends as a failed evaluation. When some
    worker declares the ``accuracy`` resource, the tasks go to such workers only. The backend
    owns the connection (:attr:`client`); the search's measurements on the cluster share it.

    Threads are not shared out here: a Dask worker runs on its own host's cores, and is sized
    where it is started (``dask worker --nthreads N``, and ``OMP_NUM_THREADS`` /
    ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` in its environment).

    Raises:
        ConfigError: the scheduler cannot be reached within ``connect_timeout``.
    """

    def __init__(self, config: SearchConfig, address: str, connect_timeout: str = "20s") -> None:
        from distributed import Client  # imported here: only cluster users pay for it

        self.address = address
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from exc
        try:
            #: The resources each worker connected at start declares, by worker address.
            self.resources = worker_resources(self.client)
        except BaseException:
            self.client.close()
            raise
        # Accuracy tasks ask for the 'accuracy' resource only where some worker declares it:
        # asking a cluster that has none would leave them waiting forever.
        accuracy = ACCURACY if self.slots(ACCURACY) else None
        super().__init__(DaskExecutor(self.client, self.slots(ACCURACY) or len(self.resources), accuracy))
        self._say_where_accuracy_runs(accuracy)

    def slots(self, resource: str) -> int:
        """How many tasks needing one ``resource`` the workers connected at start run at once."""
        return int(sum(declared.get(resource, 0) for declared in self.resources.values()))

    def _say_where_accuracy_runs(self, accuracy: str | None) -> None:
        if accuracy:
            log.info("Dask cluster %s: accuracy tasks on the %d slot(s) of workers declaring %r",
                     self.address, self.slots(ACCURACY), ACCURACY)
        elif self.slots(MEASURE):
            log.warning("Dask cluster %s: no worker declares %r, so accuracy tasks may run on any worker, the "
                        "measurement workers included; start the GPU host's worker with "
                        "`dask worker %s --resources \"%s=1\"`", self.address, ACCURACY, self.address, ACCURACY)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.client.close()


def worker_resources(client: Any) -> dict[str, dict[str, float]]:
    """The resources each worker connected to ``client``'s scheduler declares, by address
    (``{}`` for a worker that declares none)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return {address: {str(k): float(v) for k, v in (info.get("resources") or {}).items()}
            for address, info in workers.items()}


def accuracy_backend(config: SearchConfig, orders: WorkerOrders) -> Backend:
    """Where the accuracy (and, as ``orders`` say, the latency) of candidates is evaluated."""
    if config.scheduler:
        return DaskBackend(config, config.scheduler)
    if (config.workers or 1) > 1:
        return ProcessPoolBackend(config, orders, config.workers or 1)
    return InProcessBackend(config.threads_per_worker)
