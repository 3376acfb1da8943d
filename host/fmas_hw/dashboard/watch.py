"""The background sync: poll the store, mirror what it committed, rewrite the report when due.

A poll looks at the store's size and modification time first and reads the store only after a
commit, read-only and briefly (SQLite's write-ahead log lets a reader read while the search
writes, so the search never waits for it). New candidates are added at every poll. Rebuilding
the study for rewritten rows costs a trial's write per candidate, so it happens at most every
``rebuild_every`` seconds. The report is rewritten at each new generation, and once the store
has been quiet for ``report_quiet`` seconds after rows the report lacks (the measurements after
the last generation). A poll that fails (the store briefly unreadable, the study file locked) is
said once and retried at the next one: the server keeps serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import FmasError
from . import source
from .mirror import Mirror, Synced
from .pages import PATH, ReportPages

#: Seconds between two looks at the store.
POLL_SECONDS = 1.0
#: Least seconds between two rebuilds of the study for rows the store rewrote.
REBUILD_SECONDS = 30.0
#: Seconds without a commit after which the report takes in rows written since a generation.
REPORT_QUIET_SECONDS = 10.0


class Watcher:
    """Keeps a :class:`Mirror` and its :class:`ReportPages` up to date with a store.

    Args:
        store: the search store.
        mirror: its study file.
        pages: the report's pages (None: no report, e.g. without a server).
        interval / rebuild_every / report_quiet: see :data:`POLL_SECONDS`,
            :data:`REBUILD_SECONDS` and :data:`REPORT_QUIET_SECONDS`.
        log: where a line about a failed poll goes.
    """

    def __init__(self, store: Path, mirror: Mirror, pages: ReportPages | None = None,
                 interval: float = POLL_SECONDS, rebuild_every: float = REBUILD_SECONDS,
                 report_quiet: float = REPORT_QUIET_SECONDS, log: Callable[[str], None] = print) -> None:
        self.store = store
        self.mirror = mirror
        self.pages = pages
        self.interval = interval
        self.rebuild_every = rebuild_every
        self.report_quiet = report_quiet
        self.log = log
        self._seen: tuple[tuple[int, int] | None, ...] | None = None
        self._changed_at = self._last_rebuild = time.monotonic()
        self._stale = self._report_behind = False
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync(self) -> Synced | None:
        """Mirror the store's new commits now (and rebuild, rewrite the report when due); None
        when nothing was due.

        Raises:
            FmasError: the store cannot be read or the study file written.
        """
        signature = source.signature(self.store)  # before reading: a commit during the read is read again
        now = time.monotonic()
        changed = signature != self._seen
        rebuild = now - self._last_rebuild >= self.rebuild_every
        settled = self._report_behind and now - self._changed_at >= self.report_quiet
        if not changed and not (self._stale and rebuild) and not settled:
            return None
        search = source.read(self.store)
        synced = self.mirror.sync(search, PATH if self.pages is not None else None, rebuild=rebuild)
        if changed:
            self._seen, self._changed_at = signature, now
        self._stale = synced.stale
        if synced.rebuilt:
            self._last_rebuild = time.monotonic()
        if self.pages is not None:
            if self.pages.refresh(search, rows_too=settled) or settled:
                self._report_behind = False  # written, or it already showed every row
            elif changed:
                self._report_behind = True
        return synced

    def poll(self) -> None:
        """:meth:`sync`, saying a failure once (until it changes) instead of raising it."""
        try:
            self.sync()
        except FmasError as exc:
            self._say(str(exc))
        except Exception as exc:  # noqa: BLE001 - the server must outlive a failed poll
            self._say(f"{type(exc).__name__}: {exc}")
        else:
            self._last_error = None

    def _say(self, message: str) -> None:
        if message != self._last_error:
            self.log(f"dashboard: {message} (retrying every {self.interval:g} s)")
            self._last_error = message

    def start(self) -> None:
        """Poll in a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="fmas-hw-dashboard-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; wait up to ``timeout`` seconds for a poll in progress (an interrupted
        one loses nothing: each trial is its own transaction)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
