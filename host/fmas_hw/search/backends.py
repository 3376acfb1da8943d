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
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from ..errors import ConfigError
from ..store import Evaluation, Status
from .config import SearchConfig
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


class ProcessPoolBackend:
    """``--workers N``: N spawned local processes, each building its evaluator once.

    'spawn' rather than 'fork': the evaluator holds TensorFlow (and possibly an accelerator
    context), which does not survive a fork. Each worker exits when the search process is gone
    (:func:`~.worker.exit_with_parent`), so a killed search leaves no process behind. Each process is held to ``threads`` threads before
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
        self._config_data, self._orders = config.to_dict(), orders
        self._workers = workers
        self.threads = threads if threads is not None else worker_share(workers, config.threads_per_worker)
        log.info("%d local workers, %s thread(s) each", workers, self.threads)
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=start_worker, initargs=(self._config_data, self._orders, self.threads, os.getpid()),
        )

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, Evaluation]]:
        pending = dict(enumerate(tasks))
        try:
            yield from self._run_parallel(pending)
        except BrokenProcessPool:
            # A worker died (segfault, out of memory). The culprit cannot be told apart from
            # its neighbours, so the unfinished candidates are retried one at a time.
            self._restart()
            for index in sorted(pending):
                yield index, self._run_isolated(pending.pop(index))

    def _run_parallel(self, pending: dict[int, Task]) -> Iterator[tuple[int, Evaluation]]:
        futures: dict[Future, int] = {self._pool.submit(run_task, *task): i for i, task in pending.items()}
        try:
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures.pop(future)
                    outcome = Evaluation.from_dict(future.result())
                    del pending[index]
                    yield index, outcome
        finally:
            for future in futures:
                future.cancel()

    def _run_isolated(self, task: Task) -> Evaluation:
        try:
            return Evaluation.from_dict(self._pool.submit(run_task, *task).result())
        except BrokenProcessPool:
            self._restart()
            return Evaluation(status=Status.FAILED, reason="the worker process died while evaluating this "
                                                           "candidate (crash or out of memory)")

    def _restart(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskBackend:
    """``--scheduler ADDRESS``: tasks go to an existing Dask distributed cluster.

    Each Dask worker process builds its evaluator once and keeps it (cached by config digest in
    :mod:`fmas_hw.search.worker`). A worker that dies is handled by Dask, which reruns its tasks
    elsewhere; a candidate that keeps killing workers ends as a failed evaluation. When some
    worker declares the ``accuracy`` resource, the tasks go to such workers only.

    Threads are not shared out here: a Dask worker runs on its own host's cores, and is sized
    where it is started (``dask worker --nthreads N``, and ``OMP_NUM_THREADS`` /
    ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` in its environment).

    Raises:
        ConfigError: the scheduler cannot be reached within ``connect_timeout``.
    """

    def __init__(self, config: SearchConfig, address: str, connect_timeout: str = "20s") -> None:
        from distributed import Client  # imported here: only cluster users pay for it

        self._config_data = config.to_dict()
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
        self._accuracy = {ACCURACY: 1} if self.slots(ACCURACY) else None
        self._say_where_accuracy_runs()

    def slots(self, resource: str) -> int:
        """How many tasks needing one ``resource`` the workers connected at start run at once."""
        return int(sum(declared.get(resource, 0) for declared in self.resources.values()))

    def _say_where_accuracy_runs(self) -> None:
        if self._accuracy:
            log.info("Dask cluster %s: accuracy tasks on the %d slot(s) of workers declaring %r",
                     self.address, self.slots(ACCURACY), ACCURACY)
        elif self.slots(MEASURE):
            log.warning("Dask cluster %s: no worker declares %r, so accuracy tasks may run on any worker, the "
                        "measurement workers included; start the GPU host's worker with "
                        "`dask worker %s --resources \"%s=1\"`", self.address, ACCURACY, self.address, ACCURACY)

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, Evaluation]]:
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        futures = [self.client.submit(run_task, *task, pure=False, resources=self._accuracy) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in as_completed(futures, loop=self.client.loop):
                try:
                    outcome = Evaluation.from_dict(future.result())
                except (KilledWorker, FutureCancelledError) as exc:
                    outcome = Evaluation(status=Status.FAILED, reason=f"Dask lost this candidate's task: {exc}")
                yield index[future.key], outcome
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
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
    if config.workers > 1:
        return ProcessPoolBackend(config, orders, config.workers)
    return InProcessBackend(config.threads_per_worker)
