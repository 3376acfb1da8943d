"""An executor of ``slots`` threads of this process, running its queue highest priority first
(the measurement workers of a search measuring on this host: each thread drives a simulator or
a board, so they wait rather than compute)."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .base import Executor, Finish, unchanged


class ThreadExecutor(Executor):
    """``slots`` threads of this process running the queued jobs, highest priority first.

    Args:
        slots: how many threads (jobs at once).
        name: the threads' name prefix.
    """

    def __init__(self, slots: int, name: str = "fmas-measure") -> None:
        self.slots = slots
        self._queue: list[tuple[bool, float, int, Future[Any]]] = []
        self._jobs: dict[Future[Any], tuple[Callable[..., Any], tuple[Any, ...], Finish]] = {}
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(slots)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], priority: float = 0.0, behind: bool = False,
               finish: Finish = unchanged) -> Future[Any]:
        """Queue ``fn(*args)``.

        Raises:
            RuntimeError: the executor is closed.
        """
        future: Future[Any] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the executor's threads are closed")
            self._jobs[future] = (fn, args, finish)
            heapq.heappush(self._queue, (behind, -priority, next(self._order), future))
            self._ready.notify()
        return future

    def move_up(self, future: Future[Any], priority: float) -> None:
        """Queue the job again among the others (the entry behind is skipped once it has run)."""
        with self._ready:
            if future in self._jobs and not (future.running() or future.done()) and not self._closed:
                heapq.heappush(self._queue, (False, -priority, next(self._order), future))
                self._ready.notify()

    def _work(self) -> None:
        """One thread: run queued jobs until the executor closes."""
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                *_, future = heapq.heappop(self._queue)
                # under the lock: a job moved up is queued twice
                if future.running() or future.done() or not future.set_running_or_notify_cancel():
                    if future.cancelled():
                        self._jobs.pop(future, None)
                    continue
                fn, args, finish = self._jobs.pop(future)
            try:
                result = finish(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - the job's failure goes to its future
                future.set_exception(exc)
                continue
            future.set_result(result)

    def close(self) -> None:
        """Cancel the queued jobs and wait for the running ones."""
        with self._ready:
            self._closed = True
            queued, self._queue = self._queue, []
            self._jobs.clear()
            self._ready.notify_all()
        for *_, future in queued:
            future.cancel()
        for thread in self._threads:
            thread.join()
