"""The search loop: NSGA-II in ask/tell mode, the store as cache and checkpoint (SPEC §5).

Each generation: ask the GA for candidates -> look every one up in the store by (canonical
architecture key, evaluation-settings digest) -> evaluate only the misses, in parallel, committing
each result the moment it arrives -> tell the GA the objectives -> record the population, its
feasible Pareto front, the hypervolume and the device seconds of the generation.

Resuming is deterministic replay: the seeded GA is run again from generation 0 and every
candidate it asks for that the killed run finished is served from the store, so the resumed
search asks for exactly what the original would have asked for, and evaluates only what was
never finished. The GA's random state is kept apart from the rest of the process
(:mod:`.ga`), and every replayed generation is checked
against the stored one (same candidates, same random-state digest), so a replay that would
diverge stops with a :class:`StoreError` instead of silently searching something else.
Replay also lets a finished search be extended with more ``--generations``. For the same reason a
failed candidate stays failed when the search resumes (its stored reason says why): evaluating it
again could change what the replayed GA asks for next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import FmasError, StoreError
from ..space import Arch, get_space
from ..store import Evaluation, EvaluationRecord, GenerationRecord, Latency, Status, Store
from ..store.front import Limits, archive_front, hypervolume_by_generation
from ..store.front import hypervolume as archive_hypervolume
from ..targets.measurement import Measurement
from .config import SearchConfig
from .ga import GeneticAlgorithm
from .indicators import hypervolume
from .measure.front import as_told
from .measure.strategy import MeasurementStrategy, NextGuess
from .problem import SearchProblem
from .progress import Progress
from .result import SearchResult, front_entry

Miss = tuple[str, Arch]  # (arch key, architecture)
log = logging.getLogger(__name__)


class SearchLoop:
    """One search run over an open store and a measurement strategy."""

    def __init__(self, config: SearchConfig, store: Store, strategy: MeasurementStrategy,
                 progress: Progress) -> None:
        self.config, self.store, self.strategy, self.progress = config, store, strategy, progress
        self.space = get_space(config.backbone)
        self.problem = SearchProblem(self.space, config)
        self.ga = GeneticAlgorithm(self.space, self.problem, config.population, config.seed)
        self.digest = config.settings.digest
        self.reference = store.meta()["reference_point"]
        self.previous = store.generations()
        self.supernet_key = self.space.supernet().key
        self.config_data = config.to_dict()
        self.limits = Limits.from_config(self.config_data)
        self.result = SearchResult(store.path)
        self.committed: set[str] = set()  # keys evaluated in this run
        self.population_keys: list[str] = []

    def run(self) -> SearchResult:
        """Run the remaining generations; returns the result with the search's front: the
        non-dominated set of everything it evaluated (:mod:`fmas_hw.store.front`), not only of
        the last population."""
        for gen in range(self.config.generations or 0):
            if not self.step(gen):
                break
        self.strategy.finish(self.config.generations or 0)
        archive = self.archive()
        entries = [front_entry(r, self.config.objectives) for r in archive_front(archive, self.limits)]
        self.result.front = sorted(entries, key=lambda e: (e["error"], e["genome"]))
        self.result.hypervolume = hypervolume_by_generation(archive, self.limits, self.problem.scale or {},
                                                            self.reference, self.result.generations)
        evaluated = [r for r in archive if r.arch_key in self.committed and r.status == Status.OK]
        self.result.over_budget = sum(bool(self.limits.broken(r)) for r in evaluated)
        self.result.over_budget_by = self.limits.over_budget(evaluated)
        self.result.device_seconds = sum(a + lat for a, lat in self.store.seconds_by_generation().values())
        self.result.measured_ahead = self.strategy.made_ahead()
        return self.result

    def step(self, gen: int) -> bool:
        """One generation: ask, look up / evaluate, tell, record. False when the GA is done."""
        started = time.perf_counter()
        if self.strategy.before_ask(gen, self.population_keys):
            self.rank_again(gen)
        pop = self.ga.ask()
        if pop is None:
            return False
        asked = self.ga.asked(pop)
        records = self.collect(gen, asked, pop)
        records = self.strategy.after_scoring(gen, records)
        records = {key: as_told(record, gen) for key, record in records.items()}
        if self.problem.scale is None:
            self.store.set_meta(scale=self.problem.set_scale(records[self.supernet_key]))
        self.ga.tell(pop, records)
        self.record(gen, asked, records, time.perf_counter() - started)
        return True

    def rank_again(self, gen: int) -> None:
        """The population ranked again on the figures known at ``gen`` (measurements that
        replaced the estimates it was ranked on), before the GA mates it."""
        keys = self.ga.population_keys()
        self.ga.rank_again({k: as_told(r, gen) for k, r in self.store.get_many(keys, self.digest).items()})

    # -- evaluation ----------------------------------------------------------------------
    def collect(self, gen: int, asked: list[tuple[str, Arch]], pop: Any) -> dict[str, EvaluationRecord]:
        """Records of every asked candidate (``pop``, the GA's population of them): store hits,
        then the misses as they finish."""
        archs = {arch.key: arch for _, arch in asked}
        records = self.store.get_many(archs, self.digest)
        misses: list[Miss] = [(k, a) for k, a in archs.items() if k not in records]
        self.progress.start(gen, len(archs), len(records))
        self.result.store_hits += len(records)
        candidates = [(arch, key == self.supernet_key) for key, arch in misses]
        last = gen + 1 >= (self.config.generations or 0)
        guess = None if last else self._next_guess(gen, pop, misses, records)
        for index, outcome in self.strategy.evaluate(candidates, guess):
            record = self.commit(gen, misses[index], outcome)
            records[record.arch_key] = record
            self.progress.advance()
        return records

    def _next_guess(self, gen: int, pop: Any, misses: list[Miss], records: dict[str, EvaluationRecord]) -> NextGuess:
        """What the next generation would be if the candidates still measured had their
        estimates (new candidates only: see :mod:`.measure.ahead`); ``records`` holds the others."""

        def guess(pending: dict[int, Evaluation], estimator: Callable[[Arch], Measurement]) -> list[Arch]:
            told = dict(records)
            for index, outcome in pending.items():
                key, arch = misses[index]
                estimate = estimator(arch)
                told[key] = replace(_to_record(key, self.space.encode(arch), arch, outcome, gen, self.digest),
                                    latency=Latency.of(estimate))
            try:
                archs = self.ga.guess_next(pop, told, self.supernet_key)
            except Exception as exc:  # noqa: BLE001 - a failed guess costs only the time it would save
                log.warning("could not guess generation %d ahead (%s: %s): it is measured when asked", gen + 1,
                            type(exc).__name__, exc)
                return []
            new = {a.key: a for a in archs if a.key not in told}
            stored = self.store.get_many(new, self.digest)
            return [a for k, a in new.items() if k not in stored]

        return guess

    def commit(self, gen: int, miss: Miss, outcome: Evaluation) -> EvaluationRecord:
        """Store one finished evaluation at once (this is what survives a kill).

        Raises:
            FmasError: the supernet failed: nothing can be normalised, so the search stops (and
                the failure is not stored, so a fixed set-up can resume).
        """
        key, arch = miss
        if key == self.supernet_key and outcome.status != Status.OK:
            raise FmasError(f"the supernet itself could not be evaluated ({outcome.reason}); "
                            "fix the evaluator set-up and run again")
        self.result.evaluations += 1
        self.result.failures += outcome.status == Status.FAILED
        self.result.rejected += outcome.status == Status.REJECTED
        self.committed.add(key)
        return self.store.add_evaluation(_to_record(key, self.space.encode(arch), arch, outcome, gen, self.digest))

    # -- bookkeeping ---------------------------------------------------------------------
    def archive(self) -> list[EvaluationRecord]:
        """Every evaluation of this search (its settings digest), as stored now."""
        return [r for r in self.store.evaluations() if r.settings_digest == self.digest]

    def record(self, gen: int, asked: list[tuple[str, Arch]], records: dict[str, EvaluationRecord], wall: float) -> None:
        """Write (or, when replaying, verify) the generation record; update the result."""
        population, F, front = self.ga.population()
        hv = hypervolume(F[front], self.reference)
        front_keys = [population[i][1] for i in front]
        self.population_keys = [key for _, key in population]
        seconds = self.store.seconds_by_generation()
        acc, lat = seconds.get(gen, (0.0, 0.0))
        n_failed = sum(records[a.key].status != Status.OK for _, a in asked)
        n_evaluated = sum(records[a.key].generation == gen for _, a in asked)
        new = GenerationRecord(
            gen=gen, asked=[[g, a.key] for g, a in asked], population=population, front=front_keys,
            hypervolume=hv, n_evaluated=n_evaluated, n_hits=len(asked) - n_evaluated, n_failed=n_failed,
            accuracy_seconds=acc, latency_seconds=lat, device_seconds=acc + lat,
            cumulative_seconds=sum(a + b for g, (a, b) in seconds.items() if g <= gen),
            wall_seconds=wall, rng_digest=self.ga.rng_digest(),
        )
        self.verify_or_write(new)
        archive = [r for r in self.archive() if r.generation is not None and r.generation <= gen]
        self.progress.finish(len(archive_front(archive, self.limits)),
                             archive_hypervolume(archive, self.limits, self.problem.scale or {}, self.reference))
        self.result.generations = gen + 1

    def verify_or_write(self, new: GenerationRecord) -> None:
        """Store a new generation; a replayed one must match what the store recorded.

        Raises:
            StoreError: the replay diverged from the stored search.
        """
        if new.gen >= len(self.previous):
            self.store.add_generation(new)
            return
        old = self.previous[new.gen]
        if [k for _, k in old.asked] != [k for _, k in new.asked] or old.rng_digest != new.rng_digest:
            raise StoreError(
                f"resuming {self.store.path} diverged from the stored search at generation {new.gen} "
                "(different candidates or random state): was it written by another fmas-hw or pymoo "
                "version? Start a new --store"
            )


def _to_record(key: str, genome: str, arch: Arch, outcome: Evaluation, gen: int, digest: str) -> EvaluationRecord:
    """The store row of a finished evaluation."""
    return EvaluationRecord.of(outcome, arch_key=key, settings_digest=digest, genome=genome, arch=arch.to_dict(),
                               generation=gen)
