"""The search loop: NSGA-II in ask/tell mode, the store as cache and checkpoint (SPEC §5).

Each generation: ask the GA for candidates -> look every one up in the store by (canonical
architecture key, evaluation-settings digest) -> evaluate only the misses, in parallel, committing
each result the moment it arrives -> tell the GA the objectives -> record the population, its
feasible Pareto front, the hypervolume and the device seconds of the generation.

Resuming is deterministic replay: the seeded GA is run again from generation 0 and every
candidate it asks for that the killed run finished is served from the store, so the resumed
search asks for exactly what the original would have asked for, and evaluates only what was
never finished. The GA's random state is kept apart from the rest of the process
(:class:`~fmas_hw.search.operators.IsolatedRandom`), and every replayed generation is checked
against the stored one (same candidates, same random-state digest), so a replay that would
diverge stops with a :class:`StoreError` instead of silently searching something else.
Replay also lets a finished search be extended with more ``--generations``. For the same reason a
failed candidate stays failed when the search resumes (its stored reason says why): evaluating it
again could change what the replayed GA asks for next.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pymoo.core.evaluator import Evaluator

from .. import __version__
from ..costmodel.online_model import STATE_SUFFIX
from ..errors import ConfigError, FmasError, StoreError
from ..space import Arch, format_genome, get_space
from ..store import EvaluationRecord, GenerationRecord, Store
from ..store.front import Limits, archive_front, hypervolume_by_generation
from ..store.front import hypervolume as archive_hypervolume
from ..targets.base import Measurement
from .config import SearchConfig
from .indicators import feasible_front, hypervolume, reference_point
from .measure.ahead import likely_next
from .measure.choose import choose_strategy
from .measure.front import as_told
from .measure.strategy import MeasurementStrategy, NextGuess
from .operators import IsolatedRandom, build_algorithm
from .preflight import check_ready, validation_digest
from .problem import SearchProblem
from .progress import Progress
from .result import SearchResult, front_entry
from .settings import EvalSettings, data_changes
from .worker import Outcome

Miss = tuple[str, Arch]  # (arch key, architecture)
log = logging.getLogger(__name__)


def run(config: SearchConfig | dict[str, Any], resume: str | Path | None = None, *,
        progress: bool | None = False, on_start: Callable[[Path], None] | None = None) -> SearchResult:
    """Run (or resume) a search; the Python API behind ``fmas-hw search``.

    Args:
        config: the search config (a :class:`SearchConfig` or its dict form).
        resume: a store to continue; its saved config is checked against ``config``.
        progress: show tqdm bars on stderr (None: only when stderr is a terminal).
        on_start: called with the store path once the store is open.

    Returns:
        The :class:`SearchResult`.

    Raises:
        ConfigError: invalid config, evaluator or constraint hook missing, scheduler unreachable,
            no weights (without ``random_init``) or no data for the built-in evaluator.
        StoreError: store exists (new search) / missing, damaged, of another config (resume).
        DataError / WeightsError / MeasurementError: data, weights or target not ready
            (checked before the store is created: see :mod:`.preflight`).
        FmasError: the supernet itself cannot be evaluated.
    """
    config = prepare_config(config, resume)
    store = open_store(config, resume)
    try:
        if on_start is not None:
            on_start(store.path)
        strategy = choose_strategy(config, store, get_space(config.backbone).supernet().key)
        try:
            return SearchLoop(config, store, strategy, Progress(config.generations or 0, progress)).run()
        finally:
            strategy.close()
    finally:
        store.close()


#: Saved with a search but not resumed from it: they fit the host and the moment it ran on, and
#: the store's path is where it is now (a moved or copied store resumes where it lies; what must
#: not change is its content, which the config and the evaluation settings check).
_HOST_KEYS = ("workers", "scheduler", "overlap", "threads_per_worker", "store")


def stored_config(path: str | Path) -> SearchConfig:
    """The search config saved in a store (the starting point of ``--resume``), less the keys
    that fit the host it ran on (:data:`_HOST_KEYS`: a resumed search takes those afresh).

    Raises:
        StoreError: the store cannot be read.
    """
    with Store.open(path, writable=False) as store:
        data = store.meta().get("config")
    if not data:
        raise StoreError(f"store {path} holds no search config")
    return SearchConfig.from_dict(_upgraded({k: v for k, v in data.items()
                                             if k not in _HOST_KEYS}))


#: The built-in evaluator's name in stores written before it became the default (None).
_OLD_DEFAULT_EVALUATOR = "fmas_hw.eval.candidate:build_evaluator"


def _upgraded(data: dict[str, Any]) -> dict[str, Any]:
    """A config saved by an earlier fmas-hw in today's keys: its built-in evaluator becomes the
    default, and its ``cycle_model`` is dropped (the target identity replaced it; resuming then
    names the missing ``target_identity`` as the difference instead of failing on the key)."""
    out = {k: v for k, v in data.items() if k != "cycle_model"}
    if out.get("evaluator") == _OLD_DEFAULT_EVALUATOR:
        out["evaluator"] = None
    # Before random_init was a key, the built-in evaluator without weights ran on random weights.
    out.setdefault("random_init", out.get("weights") is None and out.get("evaluator") is None)
    if "backbone" in out and (out.get("classes") is None or out.get("alpha") is None):
        # Saved before the config resolved them: None meant the weights' manifest, as it still does.
        from ..model.manifest import build_options

        out["classes"], out["alpha"] = build_options(out.get("weights"), out["backbone"], out.get("classes"),
                                                     out.get("alpha"))
    return out


def prepare_config(config: SearchConfig | dict[str, Any], resume: str | Path | None) -> SearchConfig:
    """Resolve defaults and check, before anything is started, what can fail at set-up.

    Raises:
        ConfigError: invalid values, conflicting ``store``/``resume``, evaluator module or the
            GAP8 memory hook missing, no weights or data (see :func:`.preflight.check_ready`).
        DataError / WeightsError / MeasurementError: see :func:`.preflight.check_ready`.
    """
    if isinstance(config, dict):
        config = SearchConfig.from_dict(config)
    if resume is not None:
        if config.store and Path(config.store).resolve() != Path(resume).resolve():
            raise ConfigError(f"--store {config.store} and --resume {resume} name different stores")
        config = config.merge({"store": str(resume)})
    config = config.resolved()
    module = (config.evaluator or "").partition(":")[0]
    try:
        found = not module or importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package of the module is missing
        found = False
    if not found:
        raise ConfigError(f"evaluator module {module!r} not found (evaluator {config.evaluator!r})")
    check_ready(config)
    return config


def open_store(config: SearchConfig, resume: str | Path | None) -> Store:
    """Create the store of a new search, or open and check the store of a resumed one.

    A store that holds no finished evaluation (what a start that failed leaves) is started over,
    with this config, whether the command resumes it or names it as a new ``--store``.

    Raises:
        StoreError: see :meth:`Store.create`, :meth:`Store.open`, :meth:`Store.check_config`, or
            the evaluation settings (e.g. the weights file's content) changed since.
    """
    settings = replace(config.settings, data_digest=validation_digest(config))
    if Path(config.store).exists() and Store.delete_if_unstarted(config.store):  # type: ignore[arg-type]
        log.warning("store %s held no finished evaluation (a start that failed): starting it over", config.store)
        _discard_side_files(config)
        resume = None
    if resume is None:
        return Store.create(config.store, {  # type: ignore[arg-type]
            "config": config.to_dict(), "settings": settings.to_dict(), "settings_digest": settings.digest,
            "reference_point": reference_point(len(config.objectives)), "fmas_hw_version": __version__,
        })
    store = Store.open(config.store)  # type: ignore[arg-type]
    try:
        store.check_config(config.identity(), stored=_upgraded(store.meta().get("config", {})))
        stored = store.meta().get("settings", {})
        changed = sorted(k for k, v in settings.to_dict().items() if k != "data_digest" and stored.get(k) != v)
        if changed:
            raise StoreError(f"cannot resume {store.path}: the evaluation settings changed ({', '.join(changed)}), "
                             "e.g. the weights file was replaced; start a new --store")
        check_data_unchanged(store, stored, settings)
        done = len(store.generations())
        if (config.generations or 0) < done:
            raise StoreError(f"store {store.path} already holds {done} generations: resume with "
                             f"--generations {done} or more")
        store.set_meta(config=config.to_dict())
    except BaseException:
        store.close()
        raise
    return store


def check_data_unchanged(store: Store, stored: dict[str, Any], settings: EvalSettings) -> None:
    """Refuse to resume on validation data other than the stored rows were scored on; a store
    written before the data was named records it now.

    Raises:
        StoreError: naming what changed (the subset's ids, its images, its masks).
    """
    changes = data_changes(stored.get("data_digest"), settings.data_digest)
    if changes:
        raise StoreError(
            f"cannot resume {store.path}: the validation data changed since its rows were scored "
            f"({'; '.join(changes)} under {settings.data}); new rows would be scored on other images. "
            "Restore the data set as it was, or start a new --store")
    if not stored.get("data_digest") and settings.data_digest:
        store.set_meta(settings={**stored, "data_digest": settings.data_digest})


def _discard_side_files(config: SearchConfig) -> None:
    """The projects and the learnt cycle model of a store being started over: made under the
    failed start's settings, they must not be reused under the new ones."""
    if config.projects_dir is not None and config.projects_dir.is_dir():
        shutil.rmtree(config.projects_dir)
    Path(str(config.store) + STATE_SUFFIX).unlink(missing_ok=True)


class SearchLoop:
    """One search run over an open store and a measurement strategy."""

    def __init__(self, config: SearchConfig, store: Store, strategy: MeasurementStrategy,
                 progress: Progress) -> None:
        self.config, self.store, self.strategy, self.progress = config, store, strategy, progress
        self.space = get_space(config.backbone)
        self.problem = SearchProblem(self.space, config)
        self.rng = IsolatedRandom()
        with self.rng.active():
            self.algorithm = build_algorithm(self.space, self.problem, config.population, config.seed)
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
        evaluated = [r for r in archive if r.arch_key in self.committed and r.status == "ok"]
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
        with self.rng.active():
            pop = self.algorithm.ask()
        if pop is None or len(pop) == 0:
            return False
        asked = [(format_genome(x), self.space.decode(x)) for x in pop.get("X")]
        records = self.collect(gen, asked, pop)
        records = self.strategy.after_scoring(gen, records)
        records = {key: as_told(record, gen) for key, record in records.items()}
        if self.problem.scale is None:
            self.store.set_meta(scale=self.problem.set_scale(records[self.supernet_key]))
        with self.rng.active():
            Evaluator().eval(self.problem, pop, records=records)
            self.algorithm.tell(infills=pop)
        self.record(gen, asked, records, time.perf_counter() - started)
        return True

    def rank_again(self, gen: int) -> None:
        """The population ranked again on the figures known at ``gen`` (measurements that
        replaced the estimates it was ranked on), before the GA mates it."""
        pop = self.algorithm.pop
        keys = [self.space.decode(x).key for x in pop.get("X")]
        records = {k: as_told(r, gen) for k, r in self.store.get_many(keys, self.digest).items()}
        with self.rng.active():
            Evaluator().eval(self.problem, pop, records=records, skip_already_evaluated=False, count_evals=False)
            self.algorithm.pop = self.algorithm.survival.do(self.problem, pop, n_survive=len(pop),
                                                            algorithm=self.algorithm)

    # -- evaluation ----------------------------------------------------------------------
    def collect(self, gen: int, asked: list[tuple[str, Arch]], pop: Any) -> dict[str, EvaluationRecord]:
        """Records of every asked candidate (``pop``, the GA's population of them): store hits,
        then the misses as they finish."""
        archs = {arch.key: arch for _, arch in asked}
        records = self.store.get_many(archs, self.digest)
        misses: list[Miss] = [(k, a) for k, a in archs.items() if k not in records]
        self.progress.start(gen, len(archs), len(records))
        self.result.store_hits += len(records)
        candidates = [(arch.to_dict(), key == self.supernet_key) for key, arch in misses]
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

        def guess(pending: dict[int, Outcome], estimator: Callable[[Arch], Measurement]) -> list[Arch]:
            told = dict(records)
            for index, outcome in pending.items():
                key, arch = misses[index]
                estimate = estimator(arch)
                told[key] = replace(_to_record(key, self.space.encode(arch), arch, outcome, gen, self.digest),
                                    cycles=int(estimate.total_cycles), cycles_source=estimate.source)
            try:
                archs = likely_next(self.algorithm, self.problem, self.rng, pop, told, self.space, self.supernet_key)
            except Exception as exc:  # noqa: BLE001 - a failed guess costs only the time it would save
                log.warning("could not guess generation %d ahead (%s: %s): it is measured when asked", gen + 1,
                            type(exc).__name__, exc)
                return []
            new = {a.key: a for a in archs if a.key not in told}
            stored = self.store.get_many(new, self.digest)
            return [a for k, a in new.items() if k not in stored]

        return guess

    def commit(self, gen: int, miss: Miss, outcome: Outcome) -> EvaluationRecord:
        """Store one finished evaluation at once (this is what survives a kill).

        Raises:
            FmasError: the supernet failed: nothing can be normalised, so the search stops (and
                the failure is not stored, so a fixed set-up can resume).
        """
        key, arch = miss
        if key == self.supernet_key and outcome.status != "ok":
            raise FmasError(f"the supernet itself could not be evaluated ({outcome.reason}); "
                            "fix the evaluator set-up and run again")
        self.result.evaluations += 1
        self.result.failures += outcome.status == "failed"
        self.result.rejected += outcome.status == "rejected"
        self.committed.add(key)
        return self.store.add_evaluation(_to_record(key, self.space.encode(arch), arch, outcome, gen, self.digest))

    # -- bookkeeping ---------------------------------------------------------------------
    def archive(self) -> list[EvaluationRecord]:
        """Every evaluation of this search (its settings digest), as stored now."""
        return [r for r in self.store.evaluations() if r.settings_digest == self.digest]

    def record(self, gen: int, asked: list[tuple[str, Arch]], records: dict[str, EvaluationRecord], wall: float) -> None:
        """Write (or, when replaying, verify) the generation record; update the result."""
        pop = self.algorithm.pop
        F, CV = pop.get("F"), pop.get("CV")
        front = feasible_front(F, CV)
        hv = hypervolume(F[front], self.reference)
        population = [[format_genome(x), self.space.decode(x).key] for x in pop.get("X")]
        front_keys = [population[i][1] for i in front]
        self.population_keys = [key for _, key in population]
        seconds = self.store.seconds_by_generation()
        acc, lat = seconds.get(gen, (0.0, 0.0))
        n_failed = sum(records[a.key].status != "ok" for _, a in asked)
        n_evaluated = sum(records[a.key].generation == gen for _, a in asked)
        new = GenerationRecord(
            gen=gen, asked=[[g, a.key] for g, a in asked], population=population, front=front_keys,
            hypervolume=hv, n_evaluated=n_evaluated, n_hits=len(asked) - n_evaluated, n_failed=n_failed,
            accuracy_seconds=acc, latency_seconds=lat, device_seconds=acc + lat,
            cumulative_seconds=sum(a + b for g, (a, b) in seconds.items() if g <= gen),
            wall_seconds=wall, rng_digest=self.rng.digest(),
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


def _to_record(key: str, genome: str, arch: Arch, outcome: Outcome, gen: int, digest: str) -> EvaluationRecord:
    """The store row of a finished evaluation."""
    base: dict[str, Any] = dict(arch_key=key, settings_digest=digest, genome=genome, arch=arch.to_dict(),
                                status=outcome.status, reason=outcome.reason, extra=outcome.extra,
                                generation=gen, worker=outcome.worker)
    if outcome.result is not None:
        r = outcome.result
        return EvaluationRecord(**base, error=r.error, flops=r.flops, params=r.params, cycles=r.cycles,
                                cycles_source=r.cycles_source, accuracy_seconds=r.accuracy_seconds,
                                latency_seconds=r.latency_seconds)
    costs = outcome.costs or {}
    return EvaluationRecord(**base, flops=costs.get("flops"), params=costs.get("params"))
