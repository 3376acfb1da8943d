"""Measuring ahead: the next generation's likely candidates measured by workers that would idle."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from fmas_hw.search import SearchConfig, run
from fmas_hw.search.ga import GeneticAlgorithm
from fmas_hw.search.measure.pool import local_measurements
from fmas_hw.search.problem import SearchProblem
from fmas_hw.space import format_genome, get_space
from fmas_hw.store import EvaluationRecord, Latency, Store
from fmas_hw.targets.estimate import EstimateTarget

from ...target_double import DoubleTarget, scaled_estimate, unit
from ..fakes import FAKE


def _spread(key: str) -> float:
    """The double's hardware is the estimate x (1 +- 0.1), per candidate."""
    return 1 + 0.2 * (unit(key, "c") - 0.5)


@pytest.fixture
def jitter() -> DoubleTarget:
    """Cycles fixed per candidate, each run of a random length (none until a test sets one)."""
    return DoubleTarget("jitter", cycles=scaled_estimate(_spread), jitter=True)


def _config(tmp_path, name: str, **overrides) -> SearchConfig:
    values = dict(population=8, generations=4, evaluator=FAKE, target="jitter", objectives=("latency",),
                  store=str(tmp_path / f"{name}.sqlite"), input_size=64)
    values.update(overrides)
    return SearchConfig(**values)


def _record(space, x) -> EvaluationRecord:
    arch = space.decode(x)
    return EvaluationRecord(arch_key=arch.key, settings_digest="d", genome=format_genome(x), arch=arch.to_dict(), status="ok", error=unit(arch.key, "e"),
                            latency=Latency(int(1e9 * (0.2 + unit(arch.key, "c"))), "estimate", True))


def test_a_guess_on_the_true_figures_is_the_next_generation_and_leaves_the_ga_as_it_was():
    space = get_space("mobilenetv2")
    config = SearchConfig(population=8, evaluator=FAKE, objectives=("latency",), input_size=64)
    problem = SearchProblem(space, config)
    supernet = space.supernet().key
    ga = GeneticAlgorithm(space, problem, 8, 0)
    pop = ga.ask()
    for gen in range(3):
        records = {r.arch_key: r for r in (_record(space, x) for x in pop.get("X"))}
        records.setdefault(supernet, _record(space, space.encode(space.supernet())))
        before = ga.rng_digest()
        guess = ga.guess_next(pop, records, supernet)
        assert ga.rng_digest() == before  # the GA's random state is untouched...
        if gen == 0:
            assert problem.scale is None  # ...and so is its problem (the copy took the supernet's scale)
            problem.set_scale(records[supernet])
        ga.tell(pop, records)
        pop = ga.ask()
        assert [a.key for a in guess] == [space.decode(x).key for x in pop.get("X")]


def _search(config: SearchConfig, target: DoubleTarget) -> tuple[list, dict, dict]:
    result = run(config, target=target)
    with Store.open(result.store_path, writable=False) as store:
        generations = [(g.asked, g.population, g.front, g.rng_digest) for g in store.generations()]
        cycles = {r.arch_key: (r.cycles, r.cycles_source, r.generation) for r in store.evaluations()}
    return generations, cycles, result.measured_ahead


def test_measuring_ahead_changes_nothing_but_the_time(jitter, ahead_reports, tmp_path):
    sequential = _search(_config(tmp_path, "one"), jitter)
    assert ahead_reports[-1].made == 0  # one worker never idles while the generation waits
    jitter.seconds = 0.02
    jitter.measured.clear()
    ahead = _search(_config(tmp_path, "three", measure_workers=3), jitter)
    assert ahead[:2] == sequential[:2]  # same generations, random states, rows and figures
    made = ahead_reports[-1]
    assert sequential[2] == {} and ahead[2] == made.counts()  # the result says what was measured ahead
    assert made.made > 0  # guesses were made (whether right depends on the estimate: below)
    assert made.made == made.used + made.cancelled + made.wasted
    assert len(jitter.measured) == len(set(jitter.measured))  # no candidate measured twice
    assert len(jitter.measured) == len(sequential[1]) + made.wasted


def test_with_an_exact_estimate_every_guess_is_the_next_generation(jitter, ahead_reports, tmp_path):
    jitter.cycles = scaled_estimate(lambda key: 1.0)  # the hardware is the estimate
    jitter.seconds = 0.02
    _, rows, counts = _search(_config(tmp_path, "exact", measure_workers=3), jitter)
    assert counts["made"] > 0 and counts["used"] == counts["made"] and counts["wasted"] == 0
    assert len(jitter.measured) == len(rows)


def test_no_guess_is_made_for_the_generation_after_the_last(jitter, ahead_reports, tmp_path):
    assert _search(_config(tmp_path, "last", generations=1, measure_workers=3), jitter)[2] == {}
    assert ahead_reports[-1].made == 0


def test_a_measurement_made_ahead_waits_behind_the_others_and_moves_up_when_asked(jitter, tmp_path):
    space, rng = get_space("mobilenetv2"), np.random.default_rng(1)
    archs = list({a.key: a for a in (space.decode(space.random_genome(rng)) for _ in range(6))}.values())[:4]
    busy, guessed, dropped, real = archs
    jitter.gate = threading.Event()
    pool = local_measurements(_config(tmp_path, "pool").resolved(jitter), jitter)
    try:
        first = pool.submit(busy)
        while not first.running():
            time.sleep(0.01)
        later = pool.submit(guessed, ahead=True)
        unused = pool.submit(dropped, ahead=True)
        assert pool.submit(guessed, ahead=True) is later  # one measurement per candidate
        waited = pool.submit(real)
        assert pool.submit(guessed) is later  # the search asks for it: the same measurement moves up
        pool.ahead.drop(keep=[guessed.key])
        assert unused.cancelled() and not later.cancelled()
        jitter.gate.set()
        for future in (first, waited, later):
            future.result(10)
    finally:
        pool.close()
    estimate = EstimateTarget()
    cycles = {a.key: estimate.measure_candidate(pool.spec(a)).total_cycles for a in (guessed, real)}
    assert jitter.measured[0] == busy.key
    assert jitter.measured[1:] == sorted([guessed.key, real.key], key=lambda k: -cycles[k])  # as equals
    assert pool.ahead.made == 2 and pool.ahead.used == 1 and pool.ahead.cancelled == 1


def test_a_guess_that_fails_only_costs_the_time_it_would_save(jitter, ahead_reports, tmp_path, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("no copy of this GA")

    expected = _search(_config(tmp_path, "plain"), jitter)[:2]
    monkeypatch.setattr(GeneticAlgorithm, "guess_next", broken)
    jitter.seconds = 0.02  # runs long enough for a worker to idle
    with caplog.at_level("WARNING", logger="fmas_hw.search.loop"):
        assert _search(_config(tmp_path, "broken", measure_workers=3), jitter) == (*expected, {})
    assert re.search(r"could not guess generation \d ahead \(ValueError: no copy of this GA\)", caplog.text)
