"""Which candidates ``fmas-hw finetune`` picks: the most accurate of the search's front."""

from __future__ import annotations

from fmas_hw.store import EvaluationRecord, GenerationRecord, Store
from fmas_hw.training.finetune import final_front

CONFIG = {"backbone": "mobilenetv2", "objectives": ["flops"]}


def _row(key: str, error: float, flops: int, gen: int) -> EvaluationRecord:
    return EvaluationRecord(key, "d", key, {}, "ok", error=error, flops=flops, generation=gen)


def test_finetune_takes_the_front_of_everything_evaluated_not_the_last_population(tmp_path):
    with Store.create(tmp_path / "s.sqlite", {"config": CONFIG, "settings_digest": "d"}) as store:
        # 'lost' is non-dominated, but the last population (and its front) no longer holds it.
        for row in (_row("best", 0.2, 900, 0), _row("lost", 0.3, 400, 0), _row("cheap", 0.6, 100, 1),
                    _row("worse", 0.5, 500, 1)):
            store.add_evaluation(row)
        store.add_generation(GenerationRecord(1, [], [["best", "best"], ["cheap", "cheap"], ["worse", "worse"]],
                                              ["best", "worse", "cheap"], 0.5, 2, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, "r"))
        assert final_front(store, 8) == [("best", "best", 0.2), ("lost", "lost", 0.3), ("cheap", "cheap", 0.6)]
        assert [key for key, _, _ in final_front(store, 2)] == ["best", "lost"]
