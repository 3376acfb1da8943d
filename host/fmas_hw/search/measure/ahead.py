"""Measurements made ahead: a measure-all search's guess at its next generation, measured early.

NSGA-II ranks a generation only once every candidate of it is measured, so with N measurement
workers the last runs of a generation leave the other workers idle: with 12 candidates on 8
workers, the generation's second round half-fills them. While those last runs finish, the search
asks a copy of the GA what it would ask next if the unfinished candidates' figures were their
estimates (:meth:`~fmas_hw.search.ga.GeneticAlgorithm.guess_next`), and the idle workers measure
those candidates, behind every measurement the search waits for. When the real next generation is asked, each candidate
measured ahead is taken as it stands (running or finished); the others are dropped.

A measurement is a fact about an architecture, whenever it is made, and the real GA is never
told anything it did not wait for: a search measured ahead is the same search, only sooner. What
a wrong guess costs is worker time, counted and logged (:class:`Ahead`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future

from ...space import Arch
from .measurer import MeasuredRun

log = logging.getLogger(__name__)


class Ahead:
    """The measurements a source made ahead, by architecture key, until the search claims them."""

    def __init__(self) -> None:
        self._futures: dict[str, Future[MeasuredRun]] = {}
        self._lock = threading.Lock()
        self.made = self.used = self.cancelled = 0

    def claim(self, arch: Arch) -> Future[MeasuredRun] | None:
        """The measurement made ahead for ``arch`` (None if there is none); it is no longer ahead."""
        with self._lock:
            future = self._futures.pop(arch.key, None)
        if future is not None and future.cancelled():
            return None
        self.used += future is not None
        return future

    def get(self, arch: Arch) -> Future[MeasuredRun] | None:
        """The measurement made ahead for ``arch``, left claimable (None if there is none)."""
        with self._lock:
            return self._futures.get(arch.key)

    def add(self, arch: Arch, future: Future[MeasuredRun]) -> None:
        """Keep ``future`` as the measurement made ahead for ``arch``."""
        with self._lock:
            self._futures[arch.key] = future
        self.made += 1

    def drop(self, keep: Iterable[str] = ()) -> None:
        """Cancel the queued measurements made ahead, except for ``keep``; running and finished
        ones stay claimable (a later generation may still ask for them)."""
        keep = set(keep)
        with self._lock:
            for key, future in list(self._futures.items()):
                if key not in keep and future.cancel():
                    del self._futures[key]
                    self.cancelled += 1

    def report(self) -> None:
        """Log how many measurements made ahead the search used."""
        if self.made:
            log.info("%d candidate(s) sent to be measured ahead of their generation: %d used, %d cancelled "
                     "before they ran, %d measured for nothing", self.made, self.used, self.cancelled,
                     self.wasted)

    def counts(self) -> dict[str, int]:
        """What became of the measurements made ahead (empty when none was)."""
        if not self.made:
            return {}
        return {"made": self.made, "used": self.used, "cancelled": self.cancelled, "wasted": self.wasted}

    @property
    def wasted(self) -> int:
        """Measurements made ahead that ran (or run) for a candidate the search has not asked for."""
        return self.made - self.used - self.cancelled
