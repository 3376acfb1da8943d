"""The one objective -> column map: complete, and naming real fields of a row."""

from __future__ import annotations

import dataclasses

from fmas_hw.search.config import OBJECTIVES
from fmas_hw.store import EvaluationRecord
from fmas_hw.store.columns import COST_COLUMNS, cost


def test_every_objective_has_a_column_of_the_row():
    assert set(COST_COLUMNS) == set(OBJECTIVES)
    fields = {f.name for f in dataclasses.fields(EvaluationRecord)}
    assert set(COST_COLUMNS.values()) <= fields


def test_cost_reads_the_objectives_column():
    row = EvaluationRecord("k", "d", "0", {}, "ok", error=0.5, flops=10, params=20, cycles=30)
    assert [cost(row, o) for o in ("flops", "params", "latency")] == [10, 20, 30]
    assert cost(EvaluationRecord("k", "d", "0", {}, "failed"), "latency") is None
