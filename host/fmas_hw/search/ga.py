"""The search's NSGA-II: the only code that touches pymoo's algorithm and population objects.

The search loop asks it for a generation, tells it the records of what it asked for, has it rank
its population again on figures learnt later, and asks a copy of it what it would ask for next
(to measure those candidates ahead). The GA's random state is kept apart from the rest of the
process (:class:`~.operators.IsolatedRandom`), so that nothing else drawing random numbers
changes what it asks for; its digest is what a replayed generation is checked against.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from pymoo.core.evaluator import Evaluator

from ..space import Arch, SearchSpace, format_genome
from ..store import EvaluationRecord
from .indicators import feasible_front
from .operators import IsolatedRandom, build_algorithm
from .problem import SearchProblem


class GeneticAlgorithm:
    """A seeded NSGA-II over ``space``, scored from store records.

    Args:
        space: the search space (decodes the genomes pymoo holds).
        problem: the objectives and constraints of a record.
        population: individuals per generation.
        seed: the GA's seed.
    """

    def __init__(self, space: SearchSpace, problem: SearchProblem, population: int, seed: int) -> None:
        self.space, self.problem = space, problem
        self.rng = IsolatedRandom(seed)
        with self.rng.active():
            self.algorithm = build_algorithm(space, problem, population, seed)

    def ask(self) -> Any | None:
        """The next generation to evaluate (a pymoo population), None when the GA is done."""
        with self.rng.active():
            pop = self.algorithm.ask()
        return None if pop is None or len(pop) == 0 else pop

    def asked(self, pop: Any) -> list[tuple[str, Arch]]:
        """``(genome, architecture)`` of each individual of ``pop``, in order."""
        return [(format_genome(x), self.space.decode(x)) for x in pop.get("X")]

    def tell(self, pop: Any, records: dict[str, EvaluationRecord]) -> None:
        """Score ``pop`` from ``records`` (by arch key) and let the GA select its survivors."""
        with self.rng.active():
            Evaluator().eval(self.problem, pop, records=records)
            self.algorithm.tell(infills=pop)

    def population_keys(self) -> list[str]:
        """Arch keys of the current population (empty before the first generation is told)."""
        pop = self.algorithm.pop
        return [] if pop is None else [self.space.decode(x).key for x in pop.get("X")]

    def population(self) -> tuple[list[list[str]], np.ndarray, list[int]]:
        """The current population: ``[genome, key]`` pairs, its objective matrix and the indices
        of its feasible non-dominated members."""
        pop = self.algorithm.pop
        members = [[format_genome(x), self.space.decode(x).key] for x in pop.get("X")]
        F = pop.get("F")
        return members, F, list(feasible_front(F, pop.get("CV")))

    def rank_again(self, records: dict[str, EvaluationRecord]) -> None:
        """Rank the current population again on ``records`` (figures that replaced those it was
        ranked on), before the GA mates it."""
        pop = self.algorithm.pop
        with self.rng.active():
            Evaluator().eval(self.problem, pop, records=records, skip_already_evaluated=False, count_evals=False)
            # the algorithm's own generator: without it pymoo draws the ties from an unseeded one
            self.algorithm.pop = self.algorithm.survival.do(self.problem, pop, n_survive=len(pop),
                                                            algorithm=self.algorithm,
                                                            random_state=self.algorithm.random_state)

    def guess_next(self, pop: Any, records: dict[str, EvaluationRecord], supernet_key: str) -> list[Arch]:
        """The candidates the GA would ask for next if told ``records`` for ``pop`` (what it asked).

        Runs on copies: the GA, its problem and its random state are left exactly as they were.
        """
        algorithm, problem, rng, pop = copy.deepcopy((self.algorithm, self.problem, self.rng, pop))
        if problem.scale is None:
            problem.set_scale(records[supernet_key])
        with rng.active():
            Evaluator().eval(problem, pop, records=records)
            algorithm.tell(infills=pop)
            offspring = algorithm.ask()
        return [] if offspring is None else [self.space.decode(x) for x in offspring.get("X")]

    def rng_digest(self) -> str:
        """Digest of the GA's random state (a replayed generation must reproduce it)."""
        return self.rng.digest(self.algorithm.random_state)
