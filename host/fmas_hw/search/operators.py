"""NSGA-II set-up over the binary genome: repair, duplicates by architecture, first population.

Everything random in the GA is seeded. pymoo draws from the algorithm's own generator (seeded at
set-up, handed to every operator); numpy's and Python's *global* states are swapped for seeded
private copies around every GA step (:class:`IsolatedRandom`), so that a draw from them inside the
GA is reproducible and nothing else in the process (an in-process evaluator, Dask, tqdm) can shift
what the GA asks for. Same seed, same asks — which is also what makes resuming by replay exact.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.duplicate import ElementwiseDuplicateElimination
from pymoo.core.individual import Individual
from pymoo.core.repair import Repair
from pymoo.core.termination import NoTermination
from pymoo.operators.crossover.pntx import TwoPointCrossover
from pymoo.operators.mutation.bitflip import BitflipMutation

from ..space import SearchSpace
from .problem import SearchProblem


class SpaceRepair(Repair):
    """Applies the search space's structural rules (MobileNetV2: a layer kept per group)."""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem: Any, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        return np.array([self.space.repair(x) for x in X], dtype=bool)


class ArchDuplicateElimination(ElementwiseDuplicateElimination):
    """Two genomes are duplicates when they decode to the same network (same ``Arch.key``)."""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space
        self._keys: dict[bytes, str] = {}

    def key(self, x: np.ndarray) -> str:
        """Canonical architecture key of genome ``x`` (memoised: dedup compares all pairs)."""
        raw = np.asarray(x, dtype=bool).tobytes()
        if raw not in self._keys:
            self._keys[raw] = self.space.decode(x).key
        return self._keys[raw]

    def is_equal(self, a: Individual, b: Individual) -> bool:
        return self.key(a.X) == self.key(b.X)


def initial_population(space: SearchSpace, size: int, seed: int) -> np.ndarray:
    """The supernet genome first, then ``size - 1`` random legal genomes of distinct networks.

    Raises:
        ValueError: the space has fewer than ``size`` distinct networks within many draws.
    """
    rng = np.random.default_rng(seed)
    genomes = [space.parse(space.supernet_genome)]
    seen = {space.supernet().key}
    for _ in range(1000 * size):
        if len(genomes) == size:
            break
        bits = space.random_genome(rng)
        key = space.decode(bits).key
        if key not in seen:
            seen.add(key)
            genomes.append(bits)
    if len(genomes) < size:
        raise ValueError(f"could not draw {size} distinct {space.name} networks")
    return np.array(genomes, dtype=bool)


def build_algorithm(space: SearchSpace, problem: SearchProblem, population: int, seed: int) -> NSGA2:
    """NSGA-II with two-point crossover and bit-flip mutation (one flipped bit per genome on
    average), repaired and de-duplicated by architecture, seeded, set up on ``problem``.

    Call it inside :meth:`IsolatedRandom.active`; the set-up seeds the algorithm's generator.
    """
    algorithm = NSGA2(
        pop_size=population,
        sampling=initial_population(space, population, seed),
        crossover=TwoPointCrossover(),
        mutation=BitflipMutation(prob=1.0, prob_var=1.0 / space.n_bits),
        repair=SpaceRepair(space),
        eliminate_duplicates=ArchDuplicateElimination(space),
        seed=seed,
    )
    # The runner decides when to stop (and may extend a resumed search), so pymoo never does.
    algorithm.setup(problem, termination=NoTermination(), verbose=False)
    return algorithm


class IsolatedRandom:
    """The GA's private, seeded copy of numpy's (and Python's) global random state.

    Args:
        seed: the GA's seed (the copies start from it, whatever the process's states are).
    """

    def __init__(self, seed: int) -> None:
        self._np: Any = np.random.RandomState(seed).get_state()
        self._py: Any = random.Random(seed).getstate()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Swap the GA state in for the duration of the block."""
        outer_np, outer_py = np.random.get_state(), random.getstate()
        np.random.set_state(self._np)
        random.setstate(self._py)
        try:
            yield
        finally:
            self._np, self._py = np.random.get_state(), random.getstate()
            np.random.set_state(outer_np)
            random.setstate(outer_py)

    def digest(self, generator: np.random.Generator) -> str:
        """16 hex digits of the GA's random state: the algorithm's ``generator`` and the global
        numpy copy (stored per generation to verify replays)."""
        _, keys, pos, has_gauss, cached = self._np
        state = json.dumps(generator.bit_generator.state, sort_keys=True)
        blob = keys.tobytes() + f"{pos}:{has_gauss}:{cached}:{state}".encode()
        return hashlib.sha256(blob).hexdigest()[:16]
