"""The SQLite file behind a results store: its one connection, its writer lock, its transactions.

Every table of a store (the search's and the fine-tuning's) goes through the one
:class:`Database` that the :class:`~fmas_hw.store.Store` owns, so a search and a fine-tuning
share one connection and one single-writer lock and never write the same file at once.

Durability: a writable file uses the WAL journal, which lets readers (reports, a progress poller,
tests) read while the search writes, and ``synchronous=FULL``, so every committed row survives a
crash of the machine too. A reader writes nothing, not even SQLite's side files
(:func:`readonly_uri`), so a store on a read-only file system reads as well.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import StoreError

try:  # advisory locking is POSIX only; elsewhere the store simply runs unlocked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Database:
    """One open SQLite file: a connection and, for the writer, the advisory lock ``<file>.lock``.

    Use :meth:`create` or :meth:`open`; :meth:`close` releases both.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock: IO[str] | None = None

    @classmethod
    def create(cls, path: Path) -> Database:
        """Create the file (and its folder), connect for writing and take the writer lock.

        Raises:
            StoreError: the file cannot be created, or another process holds the lock.
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot create store {path}: {exc}") from exc
        database = cls(path, conn)
        try:
            database.lock()
        except StoreError:
            conn.close()
            raise
        return database

    @classmethod
    def in_memory(cls) -> Database:
        """An empty database in memory: nothing on disk, so no lock either."""
        return cls(Path(":memory:"), sqlite3.connect(":memory:"))

    @classmethod
    def open(cls, path: Path, writable: bool) -> Database:
        """Connect to an existing file (read-only unless ``writable``) and check its integrity.

        The writer lock is not taken here: :meth:`lock` once the file is known to be a store.

        Raises:
            StoreError: missing file, not an SQLite file, or a damaged one.
        """
        if not path.is_file():
            raise StoreError(f"store {path} does not exist: give the .sqlite file that `fmas-hw search` "
                             "writes (it prints `store: PATH` when it starts)")
        try:
            conn = _connect(path, readonly=not writable)
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a readable fmas-hw store (SQLite said: {exc})") from exc
        database = cls(path, conn)
        if check != "ok":
            database.close()
            raise StoreError(f"store {path} is damaged (SQLite quick_check: {check}); restore a copy")
        return database

    def lock(self) -> None:
        """Take the single-writer advisory lock (released when the process dies, too).

        Raises:
            StoreError: another process holds it.
        """
        self._lock = _take_lock(self.path)

    def read_from_memory(self) -> None:
        """Go on reading an in-memory copy of the file: what is then written (a reader's upgrade
        to the current schema) never reaches the file."""
        copy = sqlite3.connect(":memory:")
        self._conn.backup(copy)
        self._conn.close()
        self._conn = copy

    def close(self) -> None:
        """Close the connection and release the writer lock."""
        self._conn.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Run one read statement (writes go through :meth:`transaction`)."""
        return self._conn.execute(sql, args)

    def has_table(self, name: str) -> bool:
        """Whether the file has a table called ``name``."""
        found = self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return found.fetchone() is not None

    def tables(self) -> set[str]:
        """Names of every table in the file."""
        return {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    @contextmanager
    def transaction(self, failure: str | None = None) -> Iterator[sqlite3.Connection]:
        """Commit what the block writes at once, or roll it back.

        Args:
            failure: what the error message says went wrong (SQLite's reason is appended);
                default "writing to store PATH failed".

        Raises:
            StoreError: the write failed (read-only file, constraint, locked, damaged); its
                ``__cause__`` is SQLite's exception.
        """
        try:
            with self._conn:
                yield self._conn
        except sqlite3.Error as exc:
            what = failure or f"writing to store {self.path} failed"
            raise StoreError(f"{what}: {exc}") from exc


    def upsert(self, table: str, create_sql: str, values: dict[str, Any], failure: str) -> None:
        """Insert or replace one row of ``table`` (created first by ``create_sql`` when missing) and
        commit at once.

        Raises:
            StoreError: the write failed (``failure`` says what).
        """
        marks = ", ".join("?" * len(values))
        with self.transaction(failure) as conn:
            conn.execute(create_sql)
            conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(values)}) VALUES ({marks})",
                         tuple(values.values()))


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        return sqlite3.connect(readonly_uri(path), uri=True, timeout=30)
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def readonly_uri(path: Path) -> str:
    """The SQLite URI that reads ``path`` without writing anything beside it.

    ``mode=ro`` alone still creates ``-wal``/``-shm`` files next to a WAL database (and fails in a
    folder it cannot write). A store without a ``-wal`` file has no writer (a writer keeps one
    while it is open) and nothing outside the main file, so it is opened ``immutable=1``: no
    locking, no side files. With a ``-wal`` file a writer may be active, so the reader takes
    part in its locking through the existing side files; ``immutable=1`` only where those files
    cannot be created or shared (a read-only folder without ``-shm``).
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if not wal.exists() or (not shm.exists() and not os.access(path.parent, os.W_OK)):
        uri += "&immutable=1"
    return uri


def _take_lock(path: Path) -> IO[str] | None:
    """Hold ``<store>.lock`` exclusively; it names the holder (host:pid) for whoever looks."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    handle = open(f"{path}.lock", "a+")  # noqa: SIM115 - held open for the store's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StoreError(f"store {path} is in use by another fmas-hw search; wait for it or stop it") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{socket.gethostname()}:{os.getpid()}\n")
    handle.flush()
    return handle
