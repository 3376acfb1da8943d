"""An executor of spawned local processes (the accuracy workers of ``--workers N``): a
:class:`~concurrent.futures.ProcessPoolExecutor` that can be started afresh after a worker died.

'spawn' rather than 'fork': a worker holds TensorFlow (and possibly an accelerator context),
which does not survive a fork. The pool runs its jobs in the order given; priorities are not
used by the jobs it runs (every accuracy task of a generation is needed).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from .base import Executor, Finish, unchanged


class ProcessExecutor(Executor):
    """``slots`` spawned processes, each set up once by ``initializer(*initargs)``.

    Args:
        slots: worker processes.
        initializer / initargs: what each process runs first (build its evaluator).
    """

    def __init__(self, slots: int, initializer: Callable[..., Any], initargs: tuple[Any, ...]) -> None:
        self.slots = slots
        self._initializer, self._initargs = initializer, initargs
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=self._initializer, initargs=self._initargs)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], priority: float = 0.0, behind: bool = False,
               finish: Finish = unchanged) -> Future[Any]:
        future = self._pool.submit(fn, *args)
        if finish is unchanged:
            return future
        out: Future[Any] = Future()
        out.add_done_callback(lambda f: future.cancel() if f.cancelled() else None)

        def settle(done: Future[Any]) -> None:
            if not out.set_running_or_notify_cancel():
                return
            try:
                out.set_result(finish(done.result()))
            except BaseException as exc:  # noqa: BLE001 - the job's failure goes to its future
                out.set_exception(exc)

        future.add_done_callback(settle)
        return out

    def restart(self) -> None:
        """A new pool in place of a broken one (its queued jobs are cancelled)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
