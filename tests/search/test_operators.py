"""NSGA-II set-up: repair, duplicates by architecture, first population, isolated randomness,
objectives and the front/hypervolume indicators."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pymoo.core.individual import Individual

from fmas_hw.search import SearchConfig
from fmas_hw.search.indicators import feasible_front, hypervolume, reference_point
from fmas_hw.search.operators import (
    ArchDuplicateElimination,
    IsolatedRandom,
    SpaceRepair,
    initial_population,
)
from fmas_hw.search.problem import FAILED_COST, SearchProblem
from fmas_hw.space import get_space
from fmas_hw.store import EvaluationRecord, Latency

MNV2 = get_space("mobilenetv2")


@pytest.mark.parametrize("backbone", ["mobilenetv2", "xception"])
def test_initial_population(backbone):
    space = get_space(backbone)
    pop = initial_population(space, 12, seed=4)
    assert pop.shape == (12, space.n_bits) and pop.dtype == bool
    assert "".join("1" if b else "0" for b in pop[0]) == space.supernet_genome
    assert len({space.decode(x).key for x in pop}) == 12
    assert (pop == initial_population(space, 12, seed=4)).all()


def test_repair_keeps_a_layer_per_group():
    empty = np.zeros((1, MNV2.n_bits), dtype=bool)
    repaired = SpaceRepair(MNV2)._do(None, empty)
    assert (repaired[0] == MNV2.repair(empty[0])).all() and repaired[0].sum() == 5


def test_duplicates_are_architectures_not_bit_strings():
    elim = ArchDuplicateElimination(MNV2)
    # 24-ch group "10" and "01" both decode to the group's first layer alone: same network.
    a = MNV2.parse("0000111111111" + "10" + "111" * 1 + "1111" + "111" + "111")
    b = MNV2.parse("0000111111111" + "01" + "111" * 1 + "1111" + "111" + "111")
    c = MNV2.parse(MNV2.supernet_genome)
    assert elim.is_equal(Individual(X=a), Individual(X=b))
    assert not elim.is_equal(Individual(X=a), Individual(X=c))


def test_isolated_random_state():
    rng = IsolatedRandom(seed=1)
    np.random.seed(99)  # the process's state: the GA's copy starts from its seed, not from this
    with rng.active():
        first = np.random.random()
    outside = np.random.random()
    with rng.active():
        second = np.random.random()
    np.random.seed(1)
    expected = np.random.random(2)
    assert (first, second) == tuple(expected) and outside != second
    generator = np.random.default_rng(7)
    digest = rng.digest(generator)
    assert len(digest) == 16 and IsolatedRandom(seed=1).digest(generator) != digest  # the copy moved
    generator.random()
    assert rng.digest(generator) != digest  # the algorithm's generator moved


def test_the_ga_digest_is_the_same_in_every_process():
    # The digest verifies a resumed search's replay in a new process: it must not depend on
    # the process's own (unseeded) global random state.
    code = ("import numpy as np; from fmas_hw.search.operators import IsolatedRandom; "
            "print(IsolatedRandom(seed=3).digest(np.random.default_rng(3)))")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
               for _ in range(2)}
    assert len(digests) == 1


def _record(status="ok", error=0.3, flops=50, params=5, cycles=20, **kw) -> EvaluationRecord:
    return EvaluationRecord(arch_key="k", settings_digest="d", genome="", arch={}, status=status, error=error,
                            flops=flops, params=params, latency=Latency(cycles, "estimate", True), **kw)


def test_objectives_are_normalised_by_the_supernet():
    problem = SearchProblem(MNV2, SearchConfig(objectives=("flops", "latency"), max_params=8))
    problem.set_scale(_record(flops=100, cycles=40))
    assert problem.n_obj == 3 and problem.constraint_names == ["evaluated", "max_params"]
    assert problem.objectives(_record()) == [0.3, 0.5, 0.5]
    assert problem.objectives(_record(status="failed", error=None)) == [1.0, FAILED_COST, FAILED_COST]


def test_supernet_failure_cannot_normalise():
    from fmas_hw.errors import FmasError

    problem = SearchProblem(MNV2, SearchConfig())
    with pytest.raises(FmasError, match="supernet itself"):
        problem.set_scale(_record(status="failed", reason="boom"))


def test_front_and_hypervolume():
    F = np.array([[0.5, 0.5], [0.4, 0.9], [0.6, 0.6], [0.1, 0.1]])
    CV = np.array([[0.0], [0.0], [0.0], [1.0]])  # the best one is infeasible
    front = feasible_front(F, CV)
    assert list(front) == [0, 1]
    ref = reference_point(1)
    assert ref == [1.0, 1.1]
    assert hypervolume(F[front], ref) == pytest.approx(0.5 * 0.6 + 0.1 * 0.2)
    assert hypervolume(np.empty((0, 2)), ref) == 0.0
    assert list(feasible_front(F, np.ones((4, 1)))) == []
