"""An executor of Dask tasks on a cluster's workers, routed by a worker resource (``accuracy`` or
``measure``, see :mod:`fmas_hw.search.backends`), with the job's priority as the task's."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .base import Executor, Finish, unchanged

#: How far below every other job a job ``behind`` is queued (Dask priorities are integers, the
#: larger first; the measurement service's priorities are estimated cycles, here in millions).
BEHIND_PRIORITY = 1 << 40


class DaskExecutor(Executor):
    """Jobs as Dask tasks of ``client``, on workers declaring ``resource`` (None: any worker).

    Args:
        client: a connected ``distributed.Client`` (not closed here: its owner closes it).
        slots: how many such tasks the cluster's workers run at once.
        resource: the worker resource one task takes.
    """

    def __init__(self, client: Any, slots: int, resource: str | None) -> None:
        self._client = client
        self.slots = slots
        self._resources = None if resource is None else {resource: 1}
        self._tasks: set[Any] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], priority: float = 0.0, behind: bool = False,
               finish: Finish = unchanged) -> Future[Any]:
        """Submit ``fn(*args)``; cancelling the future cancels the task (Dask's own errors, e.g.
        ``KilledWorker``, reach the future too)."""
        rank = int(priority // 10**6) - (BEHIND_PRIORITY if behind else 0)
        task = self._client.submit(fn, *args, resources=self._resources, pure=False, priority=rank)
        with self._lock:
            self._tasks.add(task)
        out: Future[Any] = Future()
        out.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        task.add_done_callback(lambda t: self._settle(t, out, finish))
        return out

    def _settle(self, task: Any, out: Future[Any], finish: Finish) -> None:
        """On Dask's callback thread: hand the finished task's result over."""
        with self._lock:
            self._tasks.discard(task)
        if not out.set_running_or_notify_cancel():
            return  # nobody waits for it any more
        try:
            result = finish(task.result())
        except BaseException as exc:  # noqa: BLE001 - the job's failure goes to its future
            out.set_exception(exc)
            return
        out.set_result(result)

    def lost(self, exc: BaseException) -> str | None:
        """A task whose workers kept dying, or that the scheduler cancelled, was lost by Dask."""
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        return f"Dask lost this candidate's task: {exc}" if isinstance(exc, KilledWorker | FutureCancelledError) else None

    def close(self) -> None:
        """Cancel the tasks still on the cluster."""
        with self._lock:
            unfinished = list(self._tasks)
        if unfinished:
            self._client.cancel(unfinished)
