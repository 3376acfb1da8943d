"""The search's report as pages of the dashboard's server, at ``/report/``.

What Optuna cannot show (the front of every generation, the hypervolume per generation, the
search's cost) is in ``fmas-hw report``'s HTML. It is written, with its plots, into a folder
beside the study file by the report's own writer, and written again when the store has a new
generation (or when the caller says the rows changed: a measurement after the last
generation). Each version goes to a new subfolder and replaces the served one at once, so a page
never mixes two versions.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from pathlib import Path
from typing import Any

from bottle import Bottle, HTTPResponse, redirect, static_file

from ..report import write_report
from .source import Search

#: Where the server answers with the report.
PATH = "/report/"

_VERSION = re.compile(r"v(\d+)")
_WAITING = ("<!doctype html><meta charset='utf-8'><meta http-equiv='refresh' content='5'>"
            "<title>fmas-hw report</title><p>The search's report appears here once it is written: a few seconds "
            "after the dashboard starts, or after the search's first generation (this page reloads itself).</p>")


def default_folder(study_path: str | Path) -> Path:
    """``<study folder>/<study stem>-report``."""
    path = Path(study_path)
    return path.with_name(f"{path.stem}-report")


class ReportPages:
    """The report's latest version and the WSGI app that serves it.

    Args:
        folder: where the versions are written (created; its ``v<n>`` subfolders are this
            class's own, older ones are deleted).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._current: Path | None = None
        self._written_for: tuple[int, str] | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> Path | None:
        """The folder of the version served now (None before the first generation)."""
        return self._current

    def refresh(self, search: Search, rows_too: bool = False) -> bool:
        """Write the report again when the store has a generation the served one lacks, or, with
        ``rows_too``, when any row changed since it was written.

        Returns:
            Whether it wrote a new version.

        Raises:
            StoreError, ReportError: the store or the report's folder cannot be read / written.
        """
        due, written = (search.generations, _digest(search)), self._written_for
        if search.generations == 0 or due == written or (written and not rows_too and written[0] == due[0]):
            return False
        with self._lock:  # one writer at a time, whoever asks
            versions = self._versions()
            out = self.folder / f"v{max(versions, default=0) + 1}"
            write_report(search.path, out, formats=("html",))
            previous, self._current, self._written_for = self._current, out, due
            for number in versions:  # keep the one just replaced: a page may still be loading it
                old = self.folder / f"v{number}"
                if old != previous:
                    shutil.rmtree(old, ignore_errors=True)
        return True

    def _versions(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return [int(m.group(1)) for p in self.folder.iterdir() if (m := _VERSION.fullmatch(p.name)) and p.is_dir()]

    def app(self) -> Bottle:
        """The WSGI app answering ``/report`` (the folder of the version served now)."""
        app = Bottle()

        @app.get(PATH.rstrip("/"))
        def to_folder() -> Any:
            redirect(PATH)  # the report's links to its plots are relative to the folder

        @app.get(PATH)
        def index() -> Any:
            return self._file("report.html")

        @app.get(PATH + "<name:path>")
        def file(name: str) -> Any:
            return self._file(name)

        return app

    def _file(self, name: str) -> Any:
        current = self._current
        if current is None:
            return HTTPResponse(_WAITING, status=200, headers={"Content-Type": "text/html; charset=utf-8"})
        return static_file(name, root=str(current), headers={"Cache-Control": "no-store"})


def _digest(search: Search) -> str:
    return hashlib.sha1("".join(c.revision for c in search.candidates).encode()).hexdigest()
