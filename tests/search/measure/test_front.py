"""``--measure front``: estimate everything, measure what can matter, always the final front."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from fmas_hw.costmodel.online_model import STATE_SUFFIX
from fmas_hw.errors import ConfigError, StoreError
from fmas_hw.search import SearchConfig, run
from fmas_hw.search.loop import SearchLoop
from fmas_hw.search.measure.front import (
    MARGIN_WINDOW,
    as_told,
    estimate_margin,
    surely_feasible,
    worth_measuring,
)
from fmas_hw.search.measure.strategy import plan_measurement
from fmas_hw.store import EvaluationRecord, Latency, Store
from fmas_hw.targets import SimulatedTarget
from fmas_hw.targets.estimate import EstimateTarget

from ...target_double import DoubleTarget, scaled_estimate
from ..fakes import FAKE


def _truth_factor(key: str) -> float:
    """The double's hardware is 0.92-1.08 x the fake estimate, per candidate."""
    return 0.92 + 0.16 * int(hashlib.sha1(key.encode()).hexdigest()[:6], 16) / 0xFFFFFF


@pytest.fixture
def truth() -> DoubleTarget:
    """A hardware double whose cycles differ from the fake evaluator's estimate."""
    return DoubleTarget("truth", hardware=True, cycles=scaled_estimate(_truth_factor), jitter=True)


def _config(tmp_path, **overrides) -> SearchConfig:
    values = dict(population=8, generations=4, evaluator=FAKE, target="truth", objectives=("latency",),
                  store=str(tmp_path / "f.sqlite"), input_size=64, measure="front", measure_workers=2)
    values.update(overrides)
    return SearchConfig(**values)


def _rows(path) -> list[EvaluationRecord]:
    with Store.open(path, writable=False) as store:
        return store.evaluations("ok")


def test_only_promising_candidates_and_the_whole_final_front_are_measured(truth, tmp_path):
    result = run(_config(tmp_path), target=truth)
    rows = {r.arch_key: r for r in _rows(result.store_path)}
    measured = [r for r in rows.values() if r.cycles_source == "truth"]
    assert 0 < len(measured) < len(rows)  # some candidates were never worth measuring
    assert len(truth.measured) == len(measured) == len(set(truth.measured))  # each at most once
    assert result.front and all(e["cycles_source"] == "truth" for e in result.front)  # never an estimate
    for r in measured:
        estimate = r.latency.estimate
        assert estimate.source == "estimate" and r.latency.provenance["label"] == "measured (truth)"
        assert r.latency.label == "measured (truth)" and r.latency.measured_separately
        assert r.cycles == int(estimate.cycles * _truth_factor(r.arch_key))  # the estimate it was told
        assert estimate.model.startswith("gap8_cycle_model.toml@")  # the estimate keeps its model
    unmeasured = [r for r in rows.values() if r.cycles_source != "truth"]
    assert all(r.cycles_source == "estimate" and r.latency.known_from is None for r in unmeasured)
    # every estimate is the online model's, and says which version made it
    assert all(r.latency.model.startswith("gap8_cycle_model.toml@") for r in unmeasured)
    assert all("cycle_model_version" in r.latency.provenance["tool_versions"] for r in unmeasured)


def test_measure_all_measures_everything(truth, tmp_path):
    result = run(_config(tmp_path, measure="all"), target=truth)
    assert all(r.cycles_source == "truth" for r in _rows(result.store_path))


def test_a_resumed_front_search_replays_what_it_decided(truth, tmp_path):
    config = _config(tmp_path, generations=3)
    run(config, target=truth)
    before = {r.arch_key: (r.cycles, r.latency.known_from) for r in _rows(config.store)}
    run(config.merge({"generations": 5}), resume=config.store, target=truth)  # replays 0-2 exactly, or diverges
    after = {r.arch_key: (r.cycles, r.latency.known_from) for r in _rows(config.store)}
    assert all(after[k] == v for k, v in before.items())


class _Interrupted(Exception):
    """Stands for the search process dying once a generation is stored."""


def _everything(path) -> tuple[dict, list]:
    with Store.open(path, writable=False) as store:
        rows = {r.arch_key: (r.cycles, r.cycles_source, r.latency.known_from if r.latency else None)
                for r in store.evaluations()}
        return rows, [(g.asked, g.population, g.front, g.rng_digest) for g in store.generations()]


@pytest.mark.parametrize("stopped_after", [2, 4])
def test_an_interrupted_front_search_resumed_stores_what_the_uninterrupted_one_stores(stopped_after, tmp_path,
                                                                                       monkeypatch):
    def truth():
        return DoubleTarget("truth", hardware=True, cycles=scaled_estimate(_truth_factor), jitter=True)

    whole = _config(tmp_path / "whole", generations=7)
    (tmp_path / "whole").mkdir()
    run(whole, target=truth())
    broken = _config(tmp_path / "broken", generations=7)
    (tmp_path / "broken").mkdir()
    record = SearchLoop.record

    def record_then_die(loop, gen, *args):
        record(loop, gen, *args)
        if gen == stopped_after:  # measurements sent at the last three generations are lost
            raise _Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(SearchLoop, "record", record_then_die)
        with pytest.raises(_Interrupted):
            run(broken, target=truth())
    run(broken, resume=broken.store, target=truth())  # replays 0..stopped_after over later rows
    assert _everything(broken.store) == _everything(whole.store)


def test_as_told_undoes_a_later_measurement():
    row = EvaluationRecord(arch_key="k", settings_digest="d", genome="0", arch={}, status="ok", error=0.5,
                           latency=Latency(100, "estimate", True).measured_at(3, Latency(90, "truth", False)))
    assert as_told(row, 2).cycles == 100 and as_told(row, 2).cycles_source == "estimate"
    assert as_told(row, 2).latency == Latency(100, "estimate", True)  # unmeasured, as it was then
    assert as_told(row, 3) is row
    failed = EvaluationRecord(arch_key="f", settings_digest="d", genome="1", arch={}, status="ok", error=0.5,
                              latency=Latency(100, "estimate", True).failed_at(3, "TimeoutError"))
    assert as_told(failed, 2).latency == Latency(100, "estimate", True) and as_told(failed, 3) is failed


def _latency(cycles, measured=False, estimate=None):
    """An estimate of ``cycles``, or a measurement of them made at generation 0."""
    if not measured:
        return Latency(cycles, "estimate", True)
    return Latency(cycles if estimate is None else estimate, "estimate", True).measured_at(0, Latency(cycles, "truth", False))


def _row(key, error, cycles, measured=False):
    return EvaluationRecord(arch_key=key, settings_digest="d", genome="0", arch={}, status="ok", error=error, latency=_latency(cycles, measured))


def test_a_surely_dominated_estimate_is_not_measured():
    best = _row("best", 0.3, 100, measured=True)
    close, far = _row("close", 0.35, 105), _row("far", 0.4, 300)
    chosen = worth_measuring([close, far], [best, close, far], ("latency",), 0.1)
    assert chosen == ["close"]  # 105 * e^-0.1 < 100: could still beat it; 300 cannot


def test_a_candidate_surely_on_the_front_is_measured_once_its_figure_could_change_the_front():
    best = _row("best", 0.3, 100, measured=True)
    alone = _row("alone", 0.2, 500)  # lower error, and surely slower than best: its place is certain
    assert worth_measuring([alone], [best, alone], ("latency",), 0.1) == []
    rival = _row("rival", 0.25, 520)  # 500 vs 520 +-10 %: whether alone dominates rival is open
    assert worth_measuring([alone, rival], [best, alone, rival], ("latency",), 0.1) == ["alone", "rival"]
    assert worth_measuring([alone, rival], [best, alone, rival], ("latency",), 0.01) == []  # 495-505 < 515-525


def test_measure_front_needs_a_target_that_runs_projects():
    with pytest.raises(ConfigError, match="needs a target that runs projects"):
        plan_measurement(SearchConfig(measure="front"), EstimateTarget())
    with pytest.raises(ConfigError, match="measure must be one of"):
        SearchConfig(measure="some")


def test_measurements_finish_in_the_background_and_the_ga_then_ranks_on_them(truth, tmp_path, monkeypatch):
    truth.seconds = 0.1
    seen: list[tuple[int, str, float, float]] = []  # (gen, key, objective the GA holds, measured one)
    rank_again = SearchLoop.rank_again  # called when measurements of the population were learnt

    def checked(loop, gen):
        rank_again(loop, gen)
        learnt = set(loop.strategy.front.learnt_at(gen, loop.population_keys))
        rows = loop.store.get_many(learnt, loop.digest)
        for x, f in zip(loop.ga.algorithm.pop.get("X"), loop.ga.algorithm.pop.get("F"), strict=True):
            key = loop.space.decode(x).key
            if key in learnt:
                seen.append((gen, key, f[1], loop.problem.objectives(rows[key])[1]))

    monkeypatch.setattr(SearchLoop, "rank_again", checked)
    result = run(_config(tmp_path, generations=5, measure_workers=1), target=truth)
    rows = _rows(result.store_path)
    later = [r for r in rows if r.latency.known_from is not None and r.latency.known_from > r.generation]
    assert later  # the search went on while they were measured
    assert seen and all(held == measured for _, _, held, measured in seen)  # parents re-ranked on them
    assert result.front and all(e["cycles_source"] == "truth" for e in result.front)


def test_the_margin_follows_the_latest_measurements():
    def measured(i, error):
        estimate = 1000
        truth = Latency(int(estimate * math.exp(error)), "truth", False)
        return EvaluationRecord(arch_key=f"k{i}", settings_digest="d", genome="0", arch={}, status="ok", error=0.5,
                                latency=Latency(estimate, "estimate", True).measured_at(i, truth))

    rows = [measured(i, 0.3) for i in range(4)] + [measured(4 + i, 0.01) for i in range(MARGIN_WINDOW)]
    assert estimate_margin(rows, 3, 0.0) == pytest.approx(0.3, abs=1e-3)  # the first ones, at gen 3
    assert estimate_margin(rows, 100, 0.0) == pytest.approx(0.01, abs=1e-3)  # the estimate has learnt
    assert estimate_margin(rows, 100, 0.05) == 0.05  # never below the stated margin


def test_a_front_search_is_the_same_however_long_each_measurement_takes(truth, tmp_path):
    def search(folder, seconds):
        truth.seconds = seconds
        config = _config(tmp_path / folder, generations=5, measure_workers=3)
        (tmp_path / folder).mkdir()
        result = run(config, target=truth)
        with Store.open(result.store_path, writable=False) as store:
            rows = {r.arch_key: (r.cycles, r.cycles_source, r.latency.known_from) for r in store.evaluations()}
            gens = [(g.asked, g.population, g.rng_digest) for g in store.generations()]
        return rows, gens, result.front

    assert search("instant", 0.0) == search("random", 0.08)  # runs finishing in another order


def test_only_a_surely_feasible_point_rules_a_candidate_out(truth):
    config = _config_without_store(max_cycles=1000)
    over = EvaluationRecord(arch_key="over", settings_digest="d", genome="0", arch={}, status="ok", error=0.2, latency=_latency(1200, True, estimate=1))
    edge = EvaluationRecord(arch_key="edge", settings_digest="d", genome="0", arch={}, status="ok", error=0.2, latency=_latency(950))  # 950 e^0.1 > 1000
    inside = EvaluationRecord(arch_key="inside", settings_digest="d", genome="0", arch={}, status="ok", error=0.2, latency=_latency(800, True, estimate=1))
    assert not surely_feasible(over, config, 0.1) and not surely_feasible(edge, config, 0.1)
    assert surely_feasible(inside, config, 0.1) and surely_feasible(edge, config, 0.0)


def _config_without_store(**overrides) -> SearchConfig:
    return SearchConfig(evaluator=FAKE, target="truth", objectives=("latency",), measure="front", **overrides)


def test_a_front_search_resumed_without_its_learnt_estimate_is_refused(tmp_path):
    config = _config(tmp_path, generations=3, measure_workers=1)
    run(config, target=SimulatedTarget())
    state = Path(str(config.store) + STATE_SUFFIX)
    with Store.open(config.store, writable=False) as store:
        models = {r.latency.model for r in store.evaluations("ok") if r.latency.model}
    assert any(not m.endswith("+refit0") for m in models)  # the runs taught the estimate
    kept = state.read_bytes()
    state.unlink()
    with pytest.raises(StoreError, match=r"layers.json\) is missing.*Put that file back"):
        run(config.merge({"generations": 4}), resume=config.store, target=SimulatedTarget())
    state.write_bytes(kept)
    run(config.merge({"generations": 4}), resume=config.store, target=SimulatedTarget())
    with Store.open(config.store, writable=False) as store:
        assert len(store.generations()) == 4
