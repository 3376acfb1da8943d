"""The executor interface: ``submit(fn, args, priority) -> Future``, the highest priority first.

A job's future holds what ``finish`` makes of ``fn(*args)``'s result (on the thread that saw it
finish), or the exception either raised. The shape of pymoo's ``parallelization`` runners, with
priorities: the measurement service orders its runs longest first, and queues the runs it makes
ahead behind every other job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

#: What turns a finished job's result into what its future holds.
Finish = Callable[[Any], Any]


def unchanged(result: Any) -> Any:
    """The job's result as it is."""
    return result


class Executor(ABC):
    """Runs jobs ``fn(*args)`` somewhere.

    Attributes:
        slots: how many jobs run at once.
    """

    slots: int

    @abstractmethod
    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], priority: float = 0.0, behind: bool = False,
               finish: Finish = unchanged) -> Future[Any]:
        """Queue ``fn(*args)``; the future is running once a slot runs it. ``behind``: after every
        job that is not behind, whatever its priority. Cancelling the future before it runs
        drops the job (where the executor can)."""

    def move_up(self, future: Future[Any], priority: float) -> None:
        """A queued job that was ``behind`` runs at ``priority`` among the others, where the
        executor can reorder what it has queued (the default: it cannot)."""
        return None

    def lost(self, exc: BaseException) -> str | None:
        """Why a job that raised ``exc`` was lost by the executor itself (a worker that died and
        was not replaced) rather than failed in ``fn``; None: ``exc`` is the job's own."""
        return None

    def restart(self) -> None:
        """Start afresh after the executor broke (:class:`concurrent.futures.BrokenExecutor`);
        jobs queued before are gone. The default: an executor that cannot break."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Drop the queued jobs (their futures are cancelled) and let the running ones finish."""
