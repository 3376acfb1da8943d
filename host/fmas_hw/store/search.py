"""The search's tables of a results store, and :class:`Store`, the object that owns the file.

The store is both cache and checkpoint of one search (SPEC §5): one file per search, opened by one
writer (an advisory lock file says so, see :mod:`fmas_hw.store.database`), read by anyone. The
search writes three tables:

* ``meta`` — schema version, the resolved search config, the evaluation settings, the
  hypervolume reference point and normalisation, creation time;
* ``evaluations`` — one row per (canonical architecture key, evaluation-settings digest): genome,
  architecture, status ('ok', 'failed', 'rejected' by a cheap constraint), reason, error, FLOPs,
  parameters, the latency (cycles, their source and provenance, estimated or measured, and after
  a separate measurement the estimate it replaced), the GAP8 memory fit, seconds spent, worker,
  the generation that first asked for it (columns: :mod:`fmas_hw.store.evaluation_rows`);
* ``generations`` — per generation: the candidates asked for, the surviving population, the
  population's feasible Pareto front and its hypervolume (how NSGA-II's working set progressed;
  the search's answer is the front of every evaluation, :mod:`fmas_hw.store.front`), the device
  seconds spent, wall time, and a digest of the GA's random state (so a resumed search proves
  that it replays the original exactly).

Every finished evaluation is committed at once (WAL journal, ``synchronous=FULL``), so a search
killed at any moment loses no finished evaluation. The store does not need any pymoo state to
resume: the search is seeded, so replaying it against the store reproduces it (see
:mod:`fmas_hw.search.loop`). The fine-tuning's table lives in the same file and is reached
through :attr:`Store.finetune` (see :mod:`fmas_hw.store.finetune`), the full-validation-set scores
of the final front through :attr:`Store.full_set` (see :mod:`fmas_hw.store.full_set`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..targets.registry import DEFAULT_TARGET
from .database import Database
from .evaluation_rows import CREATE_EVALUATIONS, LATENCY_COLUMNS, from_row, latency_row, to_row
from .finetune import FinetuneTable
from .full_set import FullSetTable
from .migrate import UPGRADES
from .records import EvaluationRecord, GenerationRecord

SCHEMA_VERSION = 2

_SCHEMA = CREATE_EVALUATIONS + """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE generations (
    gen INTEGER PRIMARY KEY,
    asked TEXT NOT NULL, population TEXT NOT NULL, front TEXT NOT NULL,
    hypervolume REAL NOT NULL,
    n_evaluated INTEGER NOT NULL, n_hits INTEGER NOT NULL, n_failed INTEGER NOT NULL,
    accuracy_seconds REAL NOT NULL, latency_seconds REAL NOT NULL,
    device_seconds REAL NOT NULL, cumulative_seconds REAL NOT NULL,
    wall_seconds REAL NOT NULL, rng_digest TEXT NOT NULL, created REAL NOT NULL
);
"""

_JSON_GEN = ("asked", "population", "front")


class Store:
    """An open results store. Use :meth:`create` or :meth:`open`; close it (or use ``with``).

    Attributes:
        path: the store file.
        finetune: the file's ``finetune`` table, through the same connection and writer lock.
        full_set: the file's ``full_set`` table (full-validation-set errors, no fine-tuning).
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._target: str | None = None  # the search's target, once read (see _check_source)
        self.finetune = FinetuneTable(database)
        self.full_set = FullSetTable(database)

    @property
    def path(self) -> Path:
        """The store file."""
        return self._db.path

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, meta: dict[str, Any]) -> Store:
        """Create a new store with ``meta`` (JSON values) and lock it for writing.

        Raises:
            StoreError: the file already exists or cannot be created.
        """
        path = Path(path)
        if path.exists():
            raise StoreError(
                f"store {path} already exists: continue that search with `--resume {path}`, "
                "or choose another --store"
            )
        return cls._initialised(Database.create(path), meta)

    @classmethod
    def in_memory(cls, meta: dict[str, Any]) -> Store:
        """A new store with ``meta`` held in memory only: no file, no lock (what a test of the
        search loop, or a throwaway search, needs)."""
        return cls._initialised(Database.in_memory(), meta)

    @classmethod
    def _initialised(cls, database: Database, meta: dict[str, Any]) -> Store:
        store = cls(database)
        try:
            with database.transaction(f"cannot create store {database.path}") as conn:
                conn.executescript(_SCHEMA)
        except StoreError:
            store.close()
            raise
        store.set_meta(schema_version=SCHEMA_VERSION, created=time.time(), **meta)
        return store

    @classmethod
    def open(cls, path: str | Path, writable: bool = True) -> Store:
        """Open an existing store; ``writable`` also takes the single-writer lock. A store of a
        lower schema version is upgraded (:mod:`.migrate`): in the file by a writer, in memory for a
        reader.

        Raises:
            StoreError: missing file, not an SQLite file, not an fmas-hw store, a schema version
                this code does not read, a damaged file, or another process writing to it.
        """
        store = cls(Database.open(Path(path), writable))
        try:
            store._check_schema(writable)
            if writable:
                store._db.lock()
        except StoreError:
            store.close()
            raise
        return store

    @classmethod
    def delete_if_unstarted(cls, path: str | Path) -> bool:
        """Delete the store at ``path`` when it holds no finished evaluation (what a search whose
        start failed leaves behind), so the corrected command can create it again.

        Returns:
            True when it was deleted, False when it holds results (and is kept).

        Raises:
            StoreError: not an fmas-hw store, damaged, or another process writes to it (a search
                still running its first evaluation is never deleted).
        """
        with cls.open(path) as store:  # writable: takes the writer lock
            if store.count() or store.generations() or store.finetune.rows() or store.full_set.rows():
                return False
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return True

    def _check_schema(self, writable: bool) -> None:
        """Check the file is a store of a version this code reads, and upgrade an earlier one: in
        place when writable (one transaction), else in an in-memory copy (the file is untouched).

        Raises:
            StoreError: not a store, a version this code does not read, or the upgrade failed.
        """
        if not {"meta", "evaluations", "generations"} <= self._db.tables():
            raise StoreError(f"{self.path} is an SQLite file but not an fmas-hw search store")
        version = self.meta().get("schema_version")
        if version != SCHEMA_VERSION and version not in UPGRADES:
            raise StoreError(
                f"store {self.path} has schema version {version}, this fmas-hw reads versions "
                f"{min(UPGRADES)} to {SCHEMA_VERSION}: use the fmas-hw version that wrote it"
            )
        if version == SCHEMA_VERSION:
            return
        if not writable:
            self._db.read_from_memory()
        with self._db.transaction(f"cannot upgrade store {self.path} from schema version {version}") as conn:
            while version != SCHEMA_VERSION:
                UPGRADES[version](conn)
                version += 1

    def close(self) -> None:
        """Close the connection and release the writer lock."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ----------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """All meta values, JSON-decoded."""
        return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def set_meta(self, **values: Any) -> None:
        """Set (insert or replace) meta values; committed at once."""
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, json.dumps(v, sort_keys=True)) for k, v in values.items()],
            )
        if "config" in values:
            self._target = None  # read again on the next row

    def check_config(self, identity: dict[str, Any], stored: dict[str, Any] | None = None) -> None:
        """Refuse to resume with a search config that differs from the stored one.

        Args:
            identity: the identity keys of the new config (``SearchConfig.identity()``).
            stored: the stored config as this version reads it (e.g. a store written by an
                earlier fmas-hw, in today's keys); default: as saved.

        Raises:
            StoreError: naming every key that differs, with both values.
        """
        stored = self.meta().get("config", {}) if stored is None else stored
        keys = sorted(k for k in set(stored) | set(identity) if k in identity and stored.get(k) != identity.get(k))
        if keys:
            diffs = ", ".join(f"{k}: store has {stored.get(k)!r}, now {identity.get(k)!r}" for k in keys)
            raise StoreError(
                f"cannot resume {self.path} with a different search config ({diffs}); "
                "drop those options to continue the stored search, or start a new --store"
            )

    # -- evaluations ---------------------------------------------------------------------
    def add_evaluation(self, record: EvaluationRecord) -> EvaluationRecord:
        """Insert and commit one finished evaluation; returns it as stored.

        Raises:
            StoreError: that (key, settings) is already stored, or the write failed.
        """
        self._check_source(record)
        row = to_row(record)
        row["created"] = row["created"] or time.time()
        cols = ", ".join(row)
        try:
            with self._db.transaction() as conn:
                conn.execute(f"INSERT INTO evaluations ({cols}) VALUES ({', '.join('?' * len(row))})",
                             tuple(row.values()))
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise StoreError(f"{record.arch_key} is already in store {self.path}: is another "
                                 "search writing to it?") from exc
            raise
        return self.get(record.arch_key, record.settings_digest)  # type: ignore[return-value]

    def set_latency(self, record: EvaluationRecord) -> EvaluationRecord:
        """Replace the latency of a stored evaluation (a measurement made after its estimate, or
        a refitted estimate): its :attr:`~EvaluationRecord.latency` and ``latency_seconds``.

        Raises:
            StoreError: the row is not in the store, its figures come from another target than
                the search's, or the write failed.
        """
        self._check_source(record)
        values = latency_row(record)
        assignments = ", ".join(f"{name} = ?" for name in LATENCY_COLUMNS)
        with self._db.transaction() as conn:
            done = conn.execute(
                f"UPDATE evaluations SET {assignments} WHERE arch_key = ? AND settings_digest = ?",
                (*(values[name] for name in LATENCY_COLUMNS), record.arch_key, record.settings_digest))
        if done.rowcount != 1:
            raise StoreError(f"{record.arch_key} is not in store {self.path}: nothing to update")
        return self.get(record.arch_key, record.settings_digest)  # type: ignore[return-value]

    def _check_source(self, record: EvaluationRecord) -> None:
        """A search's rows hold figures of its own target or of the estimate, nothing else.

        Raises:
            StoreError: ``record``'s cycles come from another target.
        """
        if record.cycles_source is None:
            return
        if self._target is None:
            self._target = self.meta().get("config", {}).get("target")
        target = self._target
        if target is None:
            return
        if record.cycles_source not in (target, DEFAULT_TARGET):
            raise StoreError(f"{record.arch_key}: cycles from the {record.cycles_source!r} target do not "
                             f"belong in store {self.path}, whose search measures on {target!r}")

    def get(self, arch_key: str, settings_digest: str) -> EvaluationRecord | None:
        """The stored evaluation of ``arch_key`` under ``settings_digest``, or None."""
        found = self.get_many([arch_key], settings_digest)
        return found.get(arch_key)

    def get_many(self, keys: Iterable[str], settings_digest: str) -> dict[str, EvaluationRecord]:
        """Stored evaluations of several keys at once: ``{key: record}`` for the hits."""
        keys = list(keys)
        if not keys:
            return {}
        marks = ", ".join("?" * len(keys))
        rows = self._select_evaluations(f"arch_key IN ({marks}) AND settings_digest = ?", (*keys, settings_digest))
        return {r.arch_key: r for r in rows}

    def evaluations(self, status: str | None = None) -> list[EvaluationRecord]:
        """All evaluations in insertion order, optionally only those with ``status``."""
        if status is None:
            return self._select_evaluations("1", ())
        return self._select_evaluations("status = ?", (status,))

    def search_evaluations(self) -> list[EvaluationRecord]:
        """The evaluations of the store's own search (its settings digest; a store written before
        the digest was recorded: all of them), in insertion order."""
        digest = self.meta().get("settings_digest")
        return [r for r in self.evaluations() if digest is None or r.settings_digest == digest]

    def count(self) -> int:
        """Number of stored evaluations."""
        return self._db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]

    def _select_evaluations(self, where: str, args: tuple) -> list[EvaluationRecord]:
        cursor = self._db.execute(f"SELECT * FROM evaluations WHERE {where} ORDER BY id", args)
        names = [d[0] for d in cursor.description]
        return [from_row(dict(zip(names, values, strict=True))) for values in cursor]

    def seconds_by_generation(self) -> dict[int, tuple[float, float]]:
        """``{gen: (accuracy_seconds, latency_seconds)}`` summed over evaluations first asked in gen."""
        rows = self._db.execute(
            "SELECT generation, SUM(accuracy_seconds), SUM(latency_seconds) FROM evaluations "
            "WHERE generation IS NOT NULL GROUP BY generation")
        return {g: (a or 0.0, lat or 0.0) for g, a, lat in rows}

    # -- generations ---------------------------------------------------------------------
    def add_generation(self, record: GenerationRecord) -> None:
        """Insert or replace one generation record; committed at once."""
        row = record.to_dict()
        row["created"] = row["created"] or time.time()
        for key in _JSON_GEN:
            row[key] = json.dumps(row[key])
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO generations ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()))

    def generations(self) -> list[GenerationRecord]:
        """All generation records, in order."""
        cursor = self._db.execute("SELECT * FROM generations ORDER BY gen")
        names = [d[0] for d in cursor.description]
        out = []
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            for key in _JSON_GEN:
                row[key] = json.loads(row[key])
            out.append(GenerationRecord(**row))
        return out

