"""The ``finetune`` table of a results store: fine-tuning outcomes of reported candidates (SPEC §7).

This module is the contract between ``fmas-hw finetune`` (which writes the table) and
``fmas-hw report`` (which reads it). It lives in the same SQLite file as the search's
``evaluations`` and ``generations`` (see :mod:`fmas_hw.store.search`) and is reached through
the same open store (``store.finetune``: one connection, one writer lock), but it is created on
demand, so a store written before fine-tuning existed stays readable. One row per candidate,
keyed by the canonical architecture key; :meth:`FinetuneTable.record` upserts, so a candidate
marked 'running' becomes 'done' or 'failed' in place and an interrupted fine-tuning resumes per
candidate.

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

    with Store.open(path) as store:
        store.finetune.record(FinetuneRow(key, genome, "running", error_subset_before=0.31))
        ...
        store.finetune.record(FinetuneRow(key, genome, "done", 0.31, 0.33, 0.30, epochs=7,
                                          seconds=5400.0, weights_path="runs/x/ft.h5",
                                          val_loss=[0.9, 0.8]))
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import StoreError

if TYPE_CHECKING:
    from .database import Database

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


@dataclass(frozen=True)
class FinetuneRow:
    """One row of the ``finetune`` table (see the module docstring for the meaning of each field).

    Validated at construction, so a row the report could not interpret is never written: numpy
    scalars become plain numbers. ``val_loss`` is the decoded ``val_loss_json`` column;
    ``created`` is filled in by :meth:`FinetuneTable.record` when left None; :meth:`to_columns`
    gives the SQL columns (also the JSON form).

    Raises:
        StoreError: unknown status, an error outside [0, 1], negative seconds (naming the column).
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

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise StoreError(f"finetune status {self.status!r} unknown: expected one of {list(STATUSES)}")
        for name in (*_ERRORS, "seconds"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _checked_number(name, value))
        if self.epochs is not None:
            object.__setattr__(self, "epochs", int(self.epochs))

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> FinetuneRow:
        """Build a row from ``{column: SQL value}`` (``val_loss_json`` as JSON text or None).

        Raises:
            StoreError: unknown columns, ``arch_key`` / ``genome`` / ``status`` missing, or an
                invalid value.
        """
        values = dict(columns)
        unknown = sorted(set(values) - set(COLUMNS))
        if unknown:
            raise StoreError(f"unknown finetune column(s) {unknown}: expected some of {list(COLUMNS)}")
        missing = [k for k in ("arch_key", "genome", "status") if values.get(k) is None]
        if missing:
            raise StoreError(f"a finetune row needs {missing}; got {sorted(values)}")
        loss = values.pop("val_loss_json", None)
        return cls(**values, val_loss=json.loads(loss) if loss else [])

    def to_columns(self) -> dict[str, Any]:
        """The row as ``{column: SQL value}``, in :data:`COLUMNS` order."""
        out = {name: getattr(self, name) for name in COLUMNS if name != "val_loss_json"}
        out["val_loss_json"] = json.dumps([float(v) for v in self.val_loss])
        return {name: out[name] for name in COLUMNS}

    @property
    def done(self) -> bool:
        """Fine-tuned and evaluated on the full validation set."""
        return self.status == "done" and self.error_full_after is not None


class FinetuneTable:
    """The ``finetune`` table of one open store: a view through the store's own connection.

    Reached as ``store.finetune``; writes need the store opened writable (so its writer lock
    keeps a search and a fine-tuning from writing the file at once).
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    def exists(self) -> bool:
        """Whether the store has a ``finetune`` table (stores older than fine-tuning do not)."""
        return self._db.has_table(TABLE)

    def ensure(self) -> None:
        """Create the table if it is missing (idempotent); committed at once.

        Raises:
            StoreError: the store cannot be written (read-only, locked, damaged).
        """
        with self._db.transaction("cannot create the finetune table") as conn:
            conn.execute(CREATE_TABLE)

    def record(self, row: FinetuneRow) -> FinetuneRow:
        """Insert or replace the row of ``row.arch_key`` and commit at once (creates the table).

        Returns:
            The row as written (``created`` filled in).

        Raises:
            StoreError: the write failed (e.g. the store was opened read-only).
        """
        if row.created is None:
            row = dataclasses.replace(row, created=datetime.now(UTC).isoformat(timespec="seconds"))
        self._db.upsert(TABLE, CREATE_TABLE, row.to_columns(), f"cannot write the finetune row of {row.arch_key}")
        return row

    def rows(self, status: str | None = None) -> list[FinetuneRow]:
        """Every row (optionally only those with ``status``), ordered by arch key.

        A store without the table has no rows: the result is then ``[]``.

        Raises:
            StoreError: the table cannot be read.
        """
        if status is None:
            return self._select("1", ())
        return self._select("status = ?", (status,))

    def get(self, arch_key: str) -> FinetuneRow | None:
        """The row of ``arch_key``, or None (also when the table does not exist yet).

        Raises:
            StoreError: the table cannot be read.
        """
        found = self._select("arch_key = ?", (arch_key,))
        return found[0] if found else None

    def _select(self, where: str, args: tuple[Any, ...]) -> list[FinetuneRow]:
        query = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE {where} ORDER BY arch_key"
        try:
            if not self.exists():
                return []
            return [FinetuneRow.from_columns(dict(zip(COLUMNS, values, strict=True)))
                    for values in self._db.execute(query, args)]
        except (sqlite3.Error, json.JSONDecodeError) as exc:
            raise StoreError(f"cannot read the finetune table of {self._db.path}: {exc}") from exc


def _checked_number(name: str, value: Any) -> float:
    """``value`` as a float, refused (naming the column) unless an error in [0, 1] or seconds >= 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    upper = 1.0 if name in _ERRORS else math.inf
    if not (math.isfinite(number) and 0 <= number <= upper):
        what = "an error in [0, 1] (1 - mIoU)" if name in _ERRORS else "seconds >= 0"
        raise StoreError(f"finetune {name} must be {what}, got {value!r}")
    return number
