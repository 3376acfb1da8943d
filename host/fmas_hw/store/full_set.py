"""The ``full_set`` table of a results store: full-validation-set errors without fine-tuning.

The search scores candidates on the first ``val_fraction`` of ``val.txt`` only. To show how far
that proxy is from the full validation set, :func:`fmas_hw.search.full_set.score_front_full_set`
(``fmas-hw report --full-set``) scores the supernet and every final-front member once on the
whole validation set, with the same supernet weights and no fine-tuning, and writes one row per
candidate here; the report reads the table. Like the ``finetune`` table (:mod:`.finetune`) it is
created on demand through the store's own connection and writer lock, so a store written before
it existed opens unchanged (and simply has no rows). One row per candidate, keyed by the
canonical architecture key; :meth:`FullSetTable.record` upserts.

Columns:

* ``arch_key`` — canonical architecture key (as in ``evaluations.arch_key``);
* ``genome`` — its genome bit string;
* ``error`` — 1 − mIoU on the full validation set, no fine-tuning; ``miou`` — that mIoU;
* ``images`` — number of validation images scored;
* ``seconds`` — wall time of the evaluation;
* ``created`` — ISO-8601 UTC time the row was written.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import StoreError

if TYPE_CHECKING:
    from .database import Database

TABLE = "full_set"

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    arch_key TEXT PRIMARY KEY,
    genome TEXT NOT NULL,
    error REAL NOT NULL,
    miou REAL NOT NULL,
    images INTEGER NOT NULL,
    seconds REAL NOT NULL,
    created TEXT
)
"""

COLUMNS = ("arch_key", "genome", "error", "miou", "images", "seconds", "created")


@dataclass(frozen=True)
class FullSetRow:
    """One row of the ``full_set`` table (see the module docstring for each field).

    Validated at construction, so the report never reads a value it cannot interpret; numpy
    scalars become plain numbers. ``created`` is filled in by :meth:`FullSetTable.record`.

    Raises:
        StoreError: an error or mIoU outside [0, 1], fewer than one image, negative seconds.
    """

    arch_key: str
    genome: str
    error: float
    miou: float
    images: int
    seconds: float
    created: str | None = None

    def __post_init__(self) -> None:
        for name, upper in (("error", 1.0), ("miou", 1.0), ("seconds", math.inf)):
            object.__setattr__(self, name, _checked(name, getattr(self, name), upper))
        images = int(self.images)
        if images < 1:
            raise StoreError(f"full_set images must be >= 1 (the images scored), got {self.images!r}")
        object.__setattr__(self, "images", images)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> FullSetRow:
        """Build a row from ``{column: SQL value}``.

        Raises:
            StoreError: unknown or missing columns, or an invalid value.
        """
        unknown = sorted(set(columns) - set(COLUMNS))
        missing = [k for k in COLUMNS[:-1] if columns.get(k) is None]
        if unknown or missing:
            raise StoreError(f"a full_set row needs the columns {list(COLUMNS[:-1])}: "
                             f"unknown {unknown}, missing {missing}")
        return cls(**columns)

    def to_columns(self) -> dict[str, Any]:
        """The row as ``{column: SQL value}``, in :data:`COLUMNS` order (also its JSON form)."""
        return {name: getattr(self, name) for name in COLUMNS}


class FullSetTable:
    """The ``full_set`` table of one open store, reached as ``store.full_set``.

    Writes need the store opened writable (its writer lock keeps two writers apart).
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    def exists(self) -> bool:
        """Whether the store has the table (stores written before it do not)."""
        return self._db.has_table(TABLE)

    def record(self, row: FullSetRow) -> FullSetRow:
        """Insert or replace the row of ``row.arch_key`` and commit at once (creates the table).

        Returns:
            The row as written (``created`` filled in).

        Raises:
            StoreError: the write failed (e.g. the store was opened read-only).
        """
        if row.created is None:
            row = dataclasses.replace(row, created=datetime.now(UTC).isoformat(timespec="seconds"))
        self._db.upsert(TABLE, CREATE_TABLE, row.to_columns(), f"cannot write the full_set row of {row.arch_key}")
        return row

    def rows(self) -> list[FullSetRow]:
        """Every row, ordered by arch key; ``[]`` for a store without the table.

        Raises:
            StoreError: the table cannot be read.
        """
        query = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY arch_key"
        try:
            if not self.exists():
                return []
            return [FullSetRow.from_columns(dict(zip(COLUMNS, values, strict=True)))
                    for values in self._db.execute(query)]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the full_set table of {self._db.path}: {exc}") from exc

    def get(self, arch_key: str) -> FullSetRow | None:
        """The row of ``arch_key``, or None (also when the table does not exist yet)."""
        return next((r for r in self.rows() if r.arch_key == arch_key), None)


def _checked(name: str, value: Any, upper: float) -> float:
    """``value`` as a float in [0, ``upper``], or a StoreError naming the column."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 <= number <= upper):
        bound = "in [0, 1]" if upper == 1.0 else ">= 0"
        raise StoreError(f"full_set {name} must be a number {bound}, got {value!r}")
    return number
