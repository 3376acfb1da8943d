"""The search loop alone: an in-memory store and a strategy that scores in this thread, so what is
tested is the loop's own behaviour (asking, committing, replaying, ranking again), not a
backend's or a file's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from fmas_hw.errors import FmasError, StoreError
from fmas_hw.search import SearchConfig
from fmas_hw.search.indicators import reference_point
from fmas_hw.search.loop import SearchLoop
from fmas_hw.search.measure.strategy import Candidate, MeasurementStrategy, NextGuess
from fmas_hw.search.progress import Progress
from fmas_hw.search.worker import WorkerOrders, score
from fmas_hw.space import get_space
from fmas_hw.store import Evaluation, Status, Store

from .fakes import FAKE, FakeEvaluator


class ScoringInPlace(MeasurementStrategy):
    """Scores each candidate with the fake evaluator in this thread and remembers what it scored.

    Args:
        changed_at: generations before which it reports that the population's figures changed.
        fail: keys whose evaluation fails.
    """

    def __init__(self, config: SearchConfig, changed_at: tuple[int, ...] = (), fail: tuple[str, ...] = ()) -> None:
        super().__init__(config, WorkerOrders())
        self.config = config
        self.evaluator = FakeEvaluator(config.input_size)
        self.changed_at, self.fail = changed_at, fail
        self.scored: list[tuple[str, bool]] = []
        self.finished: list[int] = []

    def before_ask(self, gen: int, population: list[str]) -> bool:
        return gen in self.changed_at

    def evaluate(self, candidates: list[Candidate], guess: NextGuess | None = None) -> Iterator[tuple[int, Evaluation]]:
        for index, (arch, reference) in enumerate(candidates):
            self.scored.append((arch.key, reference))
            if arch.key in self.fail:
                yield index, Evaluation(status=Status.FAILED, reason="RuntimeError: told to fail")
            else:
                yield index, score(self.evaluator, self.config, arch, reference)

    def finish(self, generations: int) -> None:
        self.finished.append(generations)

    def close(self) -> None:
        return None


def _config(**overrides) -> SearchConfig:
    values = dict(evaluator=FAKE, objectives=("flops",), population=6, generations=3, input_size=64, seed=2)
    values.update(overrides)
    return SearchConfig(**values)


def _store(config: SearchConfig) -> Store:
    return Store.in_memory({"config": config.to_dict(), "settings_digest": config.settings.digest,
                            "reference_point": reference_point(len(config.objectives))})


def _run(config: SearchConfig, store: Store, strategy: ScoringInPlace | None = None) -> tuple[ScoringInPlace, object]:
    strategy = strategy or ScoringInPlace(config)
    return strategy, SearchLoop(config, store, strategy, Progress(config.generations or 0, False)).run()


def test_each_new_candidate_is_scored_once_and_every_generation_is_recorded():
    config = _config()
    with _store(config) as store:
        strategy, result = _run(config, store)
        rows = store.evaluations()
        generations = store.generations()
    keys = [key for key, _ in strategy.scored]
    assert len(keys) == len(set(keys)) == len(rows) and {r.arch_key for r in rows} == set(keys)
    assert strategy.scored[0] == (get_space("mobilenetv2").supernet().key, True)  # the reference, first
    assert not any(reference for _, reference in strategy.scored[1:])
    assert [g.gen for g in generations] == [0, 1, 2] and strategy.finished == [3]
    assert all({k for _, k in g.asked} <= set(keys) for g in generations)
    assert result.generations == 3 and result.front and (result.evaluations, result.store_hits) == (len(keys), 0)


def test_a_second_loop_over_the_store_replays_it_and_scores_only_what_is_new():
    config = _config()
    with _store(config) as store:
        first, result = _run(config, store)
        again, replayed = _run(config, store)
        assert again.scored == [] and replayed.front == result.front  # every candidate a store hit
        assert replayed.evaluations == 0 and replayed.store_hits == sum(len(g.asked) for g in store.generations())
        longer, _ = _run(config.merge({"generations": 4}), store)
        assert longer.scored and not {k for k, _ in longer.scored} & {k for k, _ in first.scored}
        assert [g.gen for g in store.generations()] == [0, 1, 2, 3]


def test_a_replay_that_would_diverge_stops_instead_of_searching_something_else():
    config = _config()
    with _store(config) as store:
        _run(config, store)
        tampered = dataclasses.replace(store.generations()[1], rng_digest="not-the-ga-state")
        store.add_generation(tampered)
        with pytest.raises(StoreError, match="diverged from the stored search at generation 1"):
            _run(config, store)


def test_a_failed_candidate_is_stored_failed_and_never_on_the_front():
    config = _config()
    with _store(config) as store:
        probe, _ = _run(config, store)
    failing = tuple(key for key, reference in probe.scored[1:4])
    with _store(config) as store:
        strategy, result = _run(config, store, ScoringInPlace(config, fail=failing))
        failed = store.evaluations("failed")
    assert {r.arch_key for r in failed} == set(failing) and all("told to fail" in r.reason for r in failed)
    assert not {e["key"] for e in result.front} & set(failing)


def test_a_supernet_that_cannot_be_scored_stops_the_search():
    config = _config()
    supernet = get_space("mobilenetv2").supernet().key
    with _store(config) as store, pytest.raises(FmasError, match="the supernet itself could not be evaluated"):
        _run(config, store, ScoringInPlace(config, fail=(supernet,)))


def test_the_population_is_ranked_again_when_the_strategy_says_its_figures_changed(monkeypatch):
    config = _config(generations=4)
    ranked: list[int] = []
    rank_again = SearchLoop.rank_again
    monkeypatch.setattr(SearchLoop, "rank_again", lambda loop, gen: ranked.append(gen) or rank_again(loop, gen))
    with _store(config) as store:
        _run(config, store, ScoringInPlace(config, changed_at=(2, 3)))
    assert ranked == [2, 3]
