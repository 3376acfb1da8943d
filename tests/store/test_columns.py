"""The one objective -> column map: complete, and naming real columns of the table and of a row."""

from __future__ import annotations

from fmas_hw.search.config import OBJECTIVES
from fmas_hw.store import EvaluationRecord, Latency, Store
from fmas_hw.store.columns import COST_COLUMNS, cost


def test_every_objective_has_a_column_of_the_table_and_the_row(tmp_path):
    assert set(COST_COLUMNS) == set(OBJECTIVES)
    with Store.create(tmp_path / "s.sqlite", {}) as store:
        columns = {row[1] for row in store._db.execute("PRAGMA table_info(evaluations)")}
    assert set(COST_COLUMNS.values()) <= columns
    assert all(hasattr(EvaluationRecord, name) or name in EvaluationRecord.__dataclass_fields__
               for name in COST_COLUMNS.values())


def test_cost_reads_the_objectives_column():
    row = EvaluationRecord(arch_key="k", settings_digest="d", genome="0", arch={}, status="ok", error=0.5, flops=10, params=20,
                           latency=Latency(30, "estimate", True))
    assert [cost(row, o) for o in ("flops", "params", "latency")] == [10, 20, 30]
    assert cost(EvaluationRecord(arch_key="k", settings_digest="d", genome="0", arch={}, status="failed"), "latency") is None
