"""The Optuna study file that mirrors one search store, kept up to date by :meth:`Mirror.sync`.

The file is an Optuna RDB storage (SQLite) holding one study, marked with the store it mirrors.
A sync adds a trial for each candidate the store committed since (keyed by architecture, so a
resumed search or a second sync adds no duplicate). Optuna never changes a finished trial, so
when the store rewrites a row (a measurement replacing an estimate) the study is built again:
in memory, then copied over the file in one SQLite transaction (the backup API), so a reader
such as optuna-dashboard sees the old study or the new one, never a half-built one, and the
study keeps its id. A file that holds anything else (another program's studies, the mirror of
another store, not an Optuna file at all) is never written.
"""

from __future__ import annotations

import sqlite3
import warnings
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage
from optuna.study import Study
from optuna_dashboard import get_note, save_note
from sqlalchemy.exc import SQLAlchemyError

from ..errors import DashboardError
from .note import study_note
from .source import Search
from .trials import REVISION, directions, metric_names, revision, to_trial

#: The study user attribute that marks a study as the mirror of a store.
MARK = "fmas_hw_mirror"


def default_path(store_path: str | Path) -> Path:
    """``<store folder>/<store stem>-optuna.db``."""
    path = Path(store_path)
    return path.with_name(f"{path.stem}-optuna.db")


@dataclass
class Synced:
    """What a sync did.

    Attributes:
        trials: trials in the study after it.
        added: trials it added.
        rebuilt: whether it built the study again.
        stale: rows the store rewrote are still mirrored as they were (a sync told not to
            rebuild); the next sync that may rebuild brings them up to date.
    """

    trials: int
    added: int = 0
    rebuilt: bool = False
    stale: bool = False


class Mirror:
    """The study file of one search store.

    Args:
        path: the Optuna study file (created when missing).
        search: the store's search, as read now (its path and identity mark the study).

    Raises:
        DashboardError: the file is the store itself, not an Optuna study file, holds other
            studies or mirrors another store, or cannot be read.
    """

    def __init__(self, path: str | Path, search: Search) -> None:
        self.path = Path(path)
        self.store = search.path
        if self.path.resolve() == self.store.resolve():
            raise DashboardError(f"the study file {self.path} is the search store itself: name another file")
        self._check_file()
        self._storage: RDBStorage | None = None
        self._known: dict[str, str] = {}
        self._study_id: int | None = None
        if self.path.exists() and self.path.stat().st_size:
            self._claim(search)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the study file (what ``optuna-dashboard`` and Optuna take)."""
        return f"sqlite:///{self.path.resolve()}"

    def storage(self) -> RDBStorage:
        """The file's Optuna storage (opened once)."""
        if self._storage is None:
            try:
                self._storage = RDBStorage(self.url)
            except (SQLAlchemyError, RuntimeError) as exc:
                raise DashboardError(f"cannot open the Optuna study file {self.path}: {exc}; delete it, it is "
                                     "written again from the store") from exc
        return self._storage

    def study_id(self) -> int | None:
        """The mirrored study's id in the file (None before the first sync)."""
        return self._study_id

    # -- syncing -------------------------------------------------------------------------
    def sync(self, search: Search, report: str | None = None, rebuild: bool = True) -> Synced:
        """Bring the study up to date with ``search``.

        Args:
            search: the store's search as read now.
            report: where the dashboard serves the report's page (for the study's note).
            rebuild: build the study again when the store rewrote a mirrored row; False only
                adds the new candidates (cheaper: a caller throttles the rebuilds).

        Raises:
            DashboardError: the study file cannot be written.
        """
        try:
            return self._sync(search, report, rebuild)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise DashboardError(f"cannot write the Optuna study file {self.path}: {exc}; name a writable "
                                 "file with --study-db") from exc

    def _sync(self, search: Search, report: str | None, rebuild: bool) -> Synced:
        study = self._find(search)
        if study is None:
            return self._rebuild(search, report)
        wanted = {c.key: revision(c) for c in search.candidates}
        stale = any(wanted.get(key) != rev for key, rev in self._known.items())
        if stale and rebuild:
            return self._rebuild(search, report)
        new = [c for c in search.candidates if c.key not in self._known]
        if new:
            study.add_trials([to_trial(c, search.objectives) for c in new])
            self._known.update((c.key, revision(c)) for c in new)
        _update_note(study, study_note(search, report))
        return Synced(trials=len(self._known), added=len(new), stale=stale)

    def _find(self, search: Search) -> Study | None:
        """The mirrored study, its trials' revisions read into ``_known`` when not known yet;
        None when the file holds no study of this search."""
        storage = self.storage()
        found = [s for s in storage.get_all_studies() if _mark(s.user_attrs) is not None]
        if len(found) != 1 or _mark(found[0].user_attrs) != _identity(search):
            return None
        study_id = storage.get_study_id_from_name(found[0].study_name)
        if study_id != self._study_id:
            trials = storage.get_all_trials(study_id, deepcopy=False)
            self._known = {t.user_attrs.get("arch_key", ""): t.system_attrs.get(REVISION, "") for t in trials}
            if len(self._known) != len(trials):  # a trial twice: the file was written by hand
                return None
            self._study_id = study_id
        return optuna.load_study(study_name=found[0].study_name, storage=storage)

    def _rebuild(self, search: Search, report: str | None) -> Synced:
        """Build the whole study in memory, then copy it over the file in one transaction."""
        if self.path.exists() and self.path.stat().st_size:
            self._claim(search)  # the file may have changed hands since (a study made in the dashboard)
        memory = RDBStorage("sqlite:///:memory:")
        try:
            study = optuna.create_study(storage=memory, study_name=search.name,
                                        directions=directions(search.objectives))
            with warnings.catch_warnings():  # experimental since Optuna 3.2, and what the dashboard reads
                warnings.simplefilter("ignore", ExperimentalWarning)
                study.set_metric_names(metric_names(search.objectives))
            study.set_user_attr(MARK, _identity(search))
            study.add_trials([to_trial(c, search.objectives) for c in search.candidates])
            save_note(study, study_note(search, report))
            raw = memory.engine.raw_connection()
            try:
                with closing(sqlite3.connect(self.path, timeout=30)) as target:
                    raw.driver_connection.backup(target)  # type: ignore[union-attr]
            finally:
                raw.close()
        finally:
            memory.engine.dispose()
        self._known = {c.key: revision(c) for c in search.candidates}
        self._study_id = self.storage().get_study_id_from_name(search.name)
        return Synced(trials=len(self._known), added=len(self._known), rebuilt=True)

    # -- whose file ----------------------------------------------------------------------
    def _check_file(self) -> None:
        """Refuse a file that is not an Optuna study file (or an empty one)."""
        if not self.path.exists() or not self.path.stat().st_size:
            return
        try:
            with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            raise DashboardError(f"{self.path} is not an Optuna study file (SQLite said: {exc}): name another "
                                 "file with --study-db") from exc
        if tables and not {"studies", "trials", "version_info"} <= tables:
            raise DashboardError(f"{self.path} is an SQLite file but not an Optuna study file: name another "
                                 "file with --study-db")

    def _claim(self, search: Search) -> None:
        """Refuse a study file that holds something else than a mirror of this store."""
        studies = self.storage().get_all_studies()
        others = [s.study_name for s in studies if _mark(s.user_attrs) is None]
        if others:
            raise DashboardError(f"{self.path} holds Optuna studies that are not a mirror of {self.store} "
                                 f"({', '.join(others)}): name another file with --study-db")
        for study in studies:  # a mirror of an earlier search at this path is replaced, not refused
            store = (_mark(study.user_attrs) or {}).get("store")
            if store != _identity(search)["store"]:
                raise DashboardError(f"{self.path} mirrors another search store ({store}): name another file "
                                     "with --study-db, or delete it")


def _identity(search: Search) -> dict[str, Any]:
    """What marks the study: the store's absolute path and the search's own identity."""
    return {"store": str(search.path.resolve()), **search.identity}


def _mark(user_attrs: dict[str, Any]) -> dict[str, Any] | None:
    mark = user_attrs.get(MARK)
    return mark if isinstance(mark, dict) else None


def _update_note(study: Study, text: str) -> None:
    """Save the note when it changed (each save is a new version of it in the file)."""
    if get_note(study) != text:
        save_note(study, text)
