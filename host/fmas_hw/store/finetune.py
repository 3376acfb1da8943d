"""The ``finetune`` table of a results store: fine-tuning outcomes of reported candidates (SPEC §7).

This module is the contract between ``fmas-hw finetune`` (which writes the table) and
``fmas-hw report`` (which reads it). It lives in the same SQLite file as the search's
``evaluations`` and ``generations`` (see :mod:`fmas_hw.store.search`) but is created on demand, so a
store written before fine-tuning existed stays readable. One row per candidate, keyed by the
canonical architecture key; :func:`record` upserts, so a candidate marked 'running' becomes
'done' or 'failed' in place and an interrupted fine-tuning resumes per candidate.

Columns:

* ``arch_key`` — canonical architecture key (as in ``evaluations.arch_key``);
* ``genome`` — its genome bit string;
* ``status`` — 'done', 'failed' or 'running';
* ``error_subset_before`` — error (1 − mIoU) on the search's validation subset without
  fine-tuning, as the search evaluated it;
* ``error_full_before`` / ``error_full_after`` — error on the full validation set before / after
  fine-tuning;
* ``epochs`` — epochs trained; ``seconds`` — device seconds the fine-tuning took;
* ``weights_path`` — where the fine-tuned weights were saved;
* ``val_loss_json`` — JSON list of the validation loss after each epoch;
* ``created`` — ISO-8601 UTC time the row was last written.

Typical use (the finetune command)::

    ensure_table(conn)
    record(conn, FinetuneRow(key, genome, "running", error_subset_before=0.31))
    ...
    record(conn, FinetuneRow(key, genome, "done", 0.31, 0.33, 0.30, epochs=7, seconds=5400.0,
                             weights_path="runs/x/ft.h5", val_loss=[0.9, 0.8]))
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StoreError

TABLE = "finetune"
STATUSES = ("done", "failed", "running")

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    arch_key TEXT PRIMARY KEY,
    genome TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed', 'running')),
    error_subset_before REAL,
    error_full_before REAL,
    error_full_after REAL,
    epochs INTEGER,
    seconds REAL,
    weights_path TEXT,
    val_loss_json TEXT,
    created TEXT
)
"""

COLUMNS = ("arch_key", "genome", "status", "error_subset_before", "error_full_before",
           "error_full_after", "epochs", "seconds", "weights_path", "val_loss_json", "created")
_ERRORS = ("error_subset_before", "error_full_before", "error_full_after")


@dataclass
class FinetuneRow:
    """One row of the ``finetune`` table (see the module docstring for the meaning of each field).

    ``val_loss`` is the decoded ``val_loss_json`` column; ``created`` is filled in by
    :func:`record` when left None. Fields read as attributes (``row.status``) or by column name
    (``row["status"]``, ``row["val_loss_json"]``); :meth:`to_columns` gives a plain dict (JSON).
    """

    arch_key: str
    genome: str
    status: str
    error_subset_before: float | None = None
    error_full_before: float | None = None
    error_full_after: float | None = None
    epochs: int | None = None
    seconds: float | None = None
    weights_path: str | None = None
    val_loss: list[float] = field(default_factory=list)
    created: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FinetuneRow:
        """Build a row from column names (``val_loss_json`` as JSON text or a list) or field names.

        Raises:
            StoreError: unknown keys, or ``arch_key`` / ``genome`` / ``status`` missing.
        """
        values = dict(data)
        if "val_loss_json" in values:
            loss = values.pop("val_loss_json")
            values["val_loss"] = json.loads(loss) if isinstance(loss, str) else (loss or [])
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise StoreError(f"unknown finetune column(s) {unknown}: expected some of {list(COLUMNS)}")
        missing = [k for k in ("arch_key", "genome", "status") if values.get(k) is None]
        if missing:
            raise StoreError(f"a finetune row needs {missing}; got {sorted(values)}")
        return cls(**values)

    def to_columns(self) -> dict[str, Any]:
        """The row as ``{column: SQL value}``, in :data:`COLUMNS` order."""
        out = {name: getattr(self, name) for name in COLUMNS if name != "val_loss_json"}
        out["val_loss_json"] = json.dumps([float(v) for v in self.val_loss])
        return {name: out[name] for name in COLUMNS}

    def __getitem__(self, column: str) -> Any:
        """Column access (``row["status"]``), so a row read back works like the mapping written.

        Raises:
            KeyError: not a column name (nor ``val_loss``).
        """
        if column == "val_loss":
            return self.val_loss
        return self.to_columns()[column]

    def get(self, column: str, default: Any = None) -> Any:
        """``row[column]``, or ``default`` for an unknown name."""
        try:
            return self[column]
        except KeyError:
            return default

    @property
    def done(self) -> bool:
        """Fine-tuned and evaluated on the full validation set."""
        return self.status == "done" and self.error_full_after is not None


def connect(path: str | Path, writable: bool = True) -> sqlite3.Connection:
    """A plain SQLite connection to the store at ``path`` (read-only when not ``writable``).

    The writer should hold the store's single-writer lock too (open it with
    ``fmas_hw.store.Store.open(path)``) so that a search and a fine-tuning never write at once.

    Raises:
        StoreError: the file is missing or is not an SQLite database.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"store {path} does not exist (give the .sqlite file a search wrote)")
    try:
        if not writable:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        conn = sqlite3.connect(path, timeout=30)
        # Same durability as the search's writes: a finished fine-tuning survives a crash.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a readable fmas-hw store (SQLite said: {exc})") from exc


def has_table(conn: sqlite3.Connection) -> bool:
    """Whether the store behind ``conn`` has a ``finetune`` table (older stores do not)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,))
    return found.fetchone() is not None


def ensure_table(conn: sqlite3.Connection) -> None:
    """Create the ``finetune`` table if it is missing (idempotent); committed at once.

    Raises:
        StoreError: the store cannot be written (read-only, locked, damaged).
    """
    try:
        with conn:
            conn.execute(CREATE_TABLE)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot create the finetune table: {exc}") from exc


def record(conn: sqlite3.Connection, row: FinetuneRow | Mapping[str, Any]) -> FinetuneRow:
    """Insert or replace the row of ``row.arch_key`` and commit at once (creates the table).

    Args:
        conn: a writable connection to the results store.
        row: a :class:`FinetuneRow`, or a mapping accepted by :meth:`FinetuneRow.from_mapping`.

    Returns:
        The row as written (``created`` filled in).

    Raises:
        StoreError: invalid status or error value, unknown columns, or the write failed.
    """
    if not isinstance(row, FinetuneRow):
        row = FinetuneRow.from_mapping(row)
    _validate(row)
    if row.created is None:
        row.created = datetime.now(UTC).isoformat(timespec="seconds")
    ensure_table(conn)
    values = row.to_columns()
    marks = ", ".join("?" * len(values))
    try:
        with conn:
            conn.execute(f"INSERT OR REPLACE INTO {TABLE} ({', '.join(values)}) VALUES ({marks})",
                         tuple(values.values()))
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the finetune row of {row.arch_key}: {exc}") from exc
    return row


def rows(conn: sqlite3.Connection, status: str | None = None) -> list[FinetuneRow]:
    """Every finetune row (optionally only those with ``status``), ordered by arch key.

    A store without the table has no rows: the result is then ``[]``.

    Raises:
        StoreError: the table cannot be read.
    """
    if status is None:
        return _select(conn, "1", ())
    return _select(conn, "status = ?", (status,))


def get(conn: sqlite3.Connection, arch_key: str) -> FinetuneRow | None:
    """The finetune row of ``arch_key``, or None (also when the table does not exist yet).

    Raises:
        StoreError: the table cannot be read.
    """
    found = _select(conn, "arch_key = ?", (arch_key,))
    return found[0] if found else None


def _select(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[FinetuneRow]:
    query = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE {where} ORDER BY arch_key"
    try:
        if not has_table(conn):
            return []
        return [FinetuneRow.from_mapping(dict(zip(COLUMNS, values, strict=True)))
                for values in conn.execute(query, args)]
    except (sqlite3.Error, json.JSONDecodeError) as exc:
        raise StoreError(f"cannot read the finetune table: {exc}") from exc


def _validate(row: FinetuneRow) -> None:
    """Refuse values the report could not interpret, naming the column; numpy scalars -> float."""
    if row.status not in STATUSES:
        raise StoreError(f"finetune status {row.status!r} unknown: expected one of {list(STATUSES)}")
    for name in (*_ERRORS, "seconds"):
        value = getattr(row, name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        upper = 1.0 if name in _ERRORS else math.inf
        if not (math.isfinite(number) and 0 <= number <= upper):
            what = "an error in [0, 1] (1 - mIoU)" if name in _ERRORS else "seconds >= 0"
            raise StoreError(f"finetune {name} must be {what}, got {value!r}")
        setattr(row, name, number)
    if row.epochs is not None:
        row.epochs = int(row.epochs)
