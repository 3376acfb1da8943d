"""Which column of an evaluation row holds each cost objective: the one map every reader uses.

``latency`` is stored as GAP8 cycles (the clock turns them into time only for display).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .search import EvaluationRecord

#: Store column of each cost objective.
COST_COLUMNS = {"flops": "flops", "params": "params", "latency": "cycles"}


def cost(record: EvaluationRecord, objective: str) -> int | None:
    """The stored cost of ``record`` for ``objective`` (None when it was not measured)."""
    return getattr(record, COST_COLUMNS[objective])
