"""``--measure front``: measure on the target only the candidates that can still matter.

Every candidate first gets the estimate (next to its accuracy), from the search's online model
(what the measured runs have taught it). After a generation is scored, a candidate goes to the
measurement workers only if its measurement can change the front (:func:`worth_measuring`):
with its estimate widened by the estimate's error (``exp(±margin)`` on its cycles), no
candidate evaluated so far (the search's archive, this generation's included) surely dominates
it, and whether it dominates, or is dominated by, some point that could be on the front is still
open. A candidate some known point surely beats can neither join the Pareto front nor change it;
one surely on the front, its every relation certain, waits for the end. The margin is the
larger of ``measure_margin`` and the largest log error of the estimate over the latest
measurements (:data:`MARGIN_WINDOW`). The final front is always measured
(:func:`unmeasured_front`: the non-dominated set of everything evaluated).

The measurements run in the background while the search goes on with the estimates
(:class:`FrontMeasurer`). A measured row's :class:`~fmas_hw.store.Latency` keeps the
estimate it replaced and the generation from which the search knew the measured figure.
The search is told, for generation g, the figures it had at g (:func:`as_told`), so a resumed
search replays exactly what it decided.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace

import numpy as np

from ...errors import ConfigError
from ...space import arch_from_dict
from ...store import EvaluationRecord, Latency, Status, Store
from ...store.columns import cost
from ...store.front import Limits, archive_front
from ..config import SearchConfig
from ..worker import describe_failure
from .measurer import MeasuredRun
from .service import MeasurementService


def is_measured(record: EvaluationRecord) -> bool:
    """Whether the record's cycles come from the target (not the estimate)."""
    return record.latency is not None and record.latency.measured_separately


def is_settled(record: EvaluationRecord) -> bool:
    """Whether the record's measurement has been learnt (measured, or failed)."""
    return record.latency is not None and record.latency.known_from is not None


def _known_from(record: EvaluationRecord) -> int:
    assert record.latency is not None and record.latency.known_from is not None
    return record.latency.known_from


def as_told(record: EvaluationRecord, gen: int) -> EvaluationRecord:
    """``record`` as the search knew it at generation ``gen``: where its measurement (or the
    measurement's failure) was learnt after ``gen``, the row carries its unmeasured estimate."""
    latency = record.latency
    if latency is None or latency.known_from is None or latency.known_from <= gen:
        return record
    return replace(record, latency=latency.estimate or replace(latency, known_from=None, failure=None))


def learnt_later(record: EvaluationRecord, gen: int) -> bool:
    """Whether the search learnt ``record``'s measurement after generation ``gen`` (so at ``gen``
    it was being measured, or was yet to be sent)."""
    latency = record.latency
    return latency is not None and latency.known_from is not None and latency.known_from > gen


#: How many of the latest measurements bound the estimate's error: the online model learns
#: from every run, so what its first estimates got wrong says little of its estimates now.
MARGIN_WINDOW = 16


def estimate_margin(records: Iterable[EvaluationRecord], gen: int, floor: float) -> float:
    """The log-error bound of the estimate: its largest ``|log(measured / estimate)|`` over the
    latest :data:`MARGIN_WINDOW` candidates measured by ``gen``, and at least ``floor``."""
    known = ((_known_from(r), r.cycles, _estimate_cycles(r)) for r in records if is_measured(r))
    pairs = sorted(((at, cycles, estimate) for at, cycles, estimate in known if at <= gen and cycles and estimate),
                   key=lambda pair: pair[0])
    errors = [abs(math.log(cycles / estimate)) for _, cycles, estimate in pairs[-MARGIN_WINDOW:]]
    return max([floor, *errors])


def _estimate_cycles(record: EvaluationRecord) -> int | None:
    """The cycles of the estimate a measurement replaced (None if it replaced none)."""
    estimate = None if record.latency is None else record.latency.estimate
    return None if estimate is None else estimate.cycles


def _bounds(record: EvaluationRecord, objectives: tuple[str, ...], margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(optimistic, pessimistic) objective vectors: only an estimated latency is an interval."""
    values = np.array([record.error, *(cost(record, o) for o in objectives)], dtype=float)
    low, high = values.copy(), values.copy()
    if "latency" in objectives and not is_measured(record):
        i = 1 + objectives.index("latency")
        low[i], high[i] = values[i] * math.exp(-margin), values[i] * math.exp(margin)
    return low, high


def _dominates(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[i, j]``: vector ``a[i]`` is no worse than ``b[j]`` in every objective and better in one."""
    return np.all(a[:, None, :] <= b[None, :, :], axis=2) & np.any(a[:, None, :] < b[None, :, :], axis=2)


def worth_measuring(candidates: Iterable[EvaluationRecord], known: Iterable[EvaluationRecord],
                    objectives: tuple[str, ...], margin: float) -> list[str]:
    """Keys of the estimated candidates whose measurement can matter now (in the order given).

    Point q surely dominates c when q's pessimistic vector is no worse than c's optimistic one
    in every objective and better in one; q may dominate c when q's optimistic vector does so
    against c's pessimistic one. Only the ``known`` points (the surely feasible ones) may rule
    another out. A candidate matters when:

    1. no known point surely dominates it (it could be non-dominated), and
    2. who dominates whom is still open between it and some contender, a point that no known
       point surely dominates (one that could be on the front): either may dominate the other,
       but not surely.

    A candidate that is surely on the front, every relation to the other contenders already
    certain, is not measured now, since its measurement could not change the front. It is
    measured at the end if it is still on the final front (:func:`unmeasured_front`: the non-dominated set of everything evaluated).
    """
    rivals = {r.arch_key: r for r in known if r.status == Status.OK}
    pool = {**rivals, **{c.arch_key: c for c in candidates if c.status == Status.OK}}
    bounds = [_bounds(r, objectives, margin) for r in pool.values()]
    low = np.array([lo for lo, _ in bounds]).reshape(len(pool), -1)
    high = np.array([hi for _, hi in bounds]).reshape(len(pool), -1)
    surely, maybe = _dominates(high, low), _dominates(low, high)
    np.fill_diagonal(surely, False)
    np.fill_diagonal(maybe, False)
    can_rule = np.array([k in rivals for k in pool])
    contender = ~np.any(surely & can_rule[:, None], axis=0)
    open_ = maybe & ~surely
    open_ = open_ | open_.T
    index = {k: i for i, k in enumerate(pool)}
    chosen = []
    for c in candidates:
        if c.status != Status.OK or is_settled(c):
            continue
        i = index[c.arch_key]
        if contender[i] and np.any(open_[i] & contender):
            chosen.append(c.arch_key)
    return chosen


def surely_feasible(record: EvaluationRecord, config: SearchConfig, margin: float) -> bool:
    """Whether ``record`` meets the search's constraints even at its pessimistic cycles (only
    such a point may rule a candidate out: an infeasible one is never on the front)."""
    cycles = float(record.cycles or 0)
    return _feasible(record, config, cycles if is_measured(record) else cycles * math.exp(margin))


def unmeasured_front(records: Iterable[EvaluationRecord], config: SearchConfig) -> tuple[list[str], list[str]]:
    """(front keys, those not measured yet) of the feasible ``ok`` records, with their current
    figures (measured where measured)."""
    front = archive_front(records, Limits.from_config(config.to_dict()))
    return [r.arch_key for r in front], [r.arch_key for r in front if not is_settled(r)]


def _feasible(record: EvaluationRecord, config: SearchConfig, cycles: float | None = None) -> bool:
    """Whether ``record`` meets the constraints, at ``cycles`` if given (else its own)."""
    cycles = float(record.cycles or 0) if cycles is None else cycles
    return ((config.max_cycles is None or cycles <= config.max_cycles)
            and (config.max_params is None or (record.params or 0) <= config.max_params))


def record_measured(record: EvaluationRecord, run: MeasuredRun, gen: int) -> EvaluationRecord:
    """The row once measured at generation ``gen``, its estimate kept beside the measurement
    (and the worker that measured it)."""
    assert record.latency is not None  # an estimated row
    latency = record.latency.measured_at(gen, Latency.of(run.measurement, worker=run.worker))
    return replace(record, latency=latency, latency_seconds=record.latency_seconds + run.seconds)


def record_measurement_failed(record: EvaluationRecord, reason: str, gen: int) -> EvaluationRecord:
    """The row whose measurement failed at ``gen``: it keeps its estimate, and says why."""
    assert record.latency is not None  # an estimated row
    return replace(record, latency=record.latency.failed_at(gen, reason))


#: Generations between sending a candidate to be measured and learning its figure: the
#: measurements of three generations overlap (a generation waits only for runs sent three
#: generations before, so one long run does not idle the other workers), and what the search
#: learns when never depends on how fast a run happened to be (a search is the same for its
#: seed, however it is timed).
MEASURE_LAG = 3


@dataclass
class _Sent:
    """A measurement in flight: the row it will update, when it was sent, in which order."""

    record: EvaluationRecord
    gen: int
    order: int


class FrontMeasurer:
    """What a ``--measure front`` search does at each generation and at its end.

    The measurements run in the background: a generation sends its promising candidates to the
    measurement workers and goes on with their estimates. What generation g sent is learnt at
    generation g + :data:`MEASURE_LAG` (waiting for it then, if it has not finished): it is
    stored as known from that generation (:attr:`~fmas_hw.store.Latency.known_from`), it teaches
    the online estimate (in the order the candidates were sent), and from then on the search knows the measured
    figure (the loop ranks its population again on it). The supernet is measured at once, as
    it normalises the latency objective.

    Everything the search is told is thus in the store (estimates with their model, measured
    figures with the generation that first used them), the same for a seed however fast each
    run was, and a resumed search replays it exactly.

    Args:
        config: the resolved search config.
        store: the search's store (measured rows are updated in place).
        pool: the measurement workers (local, or a Dask cluster's ``measure`` slots).
        supernet_key: the supernet is always measured (it normalises the latency objective).
    """

    def __init__(self, config: SearchConfig, store: Store, pool: MeasurementService, supernet_key: str) -> None:
        self.config, self.store, self.pool, self.supernet_key = config, store, pool, supernet_key
        self.digest = config.settings.digest
        self.in_flight: dict[Future[MeasuredRun], _Sent] = {}
        self._sent = itertools.count()

    def collect(self, gen: int) -> None:
        """Learn, as of ``gen``, the measurements sent at ``gen - MEASURE_LAG`` or earlier
        (waiting for those still running)."""
        self._settle_all([f for f, sent in self.in_flight.items() if sent.gen <= gen - MEASURE_LAG], gen)

    def learnt_at(self, gen: int, keys: Iterable[str]) -> list[str]:
        """Those of ``keys`` whose measured figure the search learns at ``gen``."""
        rows = self.store.get_many(keys, self.digest).values()
        return [r.arch_key for r in rows if is_measured(r) and _known_from(r) == gen]

    def dispatch_contenders(self, gen: int, records: dict[str, EvaluationRecord]) -> dict[str, EvaluationRecord]:
        """``records`` with fresh estimates; the candidates that could be non-dominated are sent
        to be measured. The supernet is measured first, at once (its row comes back measured),
        and the decision uses its measured figure.

        Decided on what the search knew at ``gen`` — the candidates evaluated by then, with the
        measurements learnt by then — so a resumed search, replaying ``gen`` over a store that
        holds later generations and measurements, decides as the interrupted one did; a
        candidate whose measurement the store holds from a later generation is not sent again.
        """
        records = {**records, **self.refit_estimates(records)}
        supernet = records.get(self.supernet_key)
        if supernet is not None and not is_settled(supernet):
            records = {**records, **self.measure(gen, [supernet])}
        known = {k: as_told(r, gen) for k, r in records.items()}
        archive = [r for r in self.store.evaluations("ok") if r.generation is None or r.generation <= gen]
        margin = estimate_margin(archive, gen, self.config.measure_margin)
        measuring = {sent.record.arch_key for sent in self.in_flight.values()}
        measuring |= {r.arch_key for r in [*archive, *records.values()] if learnt_later(r, gen)}
        rivals = [r for r in [*(as_told(r, gen) for r in archive), *known.values()]
                  if surely_feasible(r, self.config, margin)]
        keys = [k for k in worth_measuring(known.values(), rivals, self.config.objectives, margin)
                if k not in measuring]
        for key in keys:
            self._send(records[key], gen)
        return records

    def refit_estimates(self, records: dict[str, EvaluationRecord]) -> dict[str, EvaluationRecord]:
        """New candidates' estimates redone with the online model (what the measured runs so
        far have taught it), stored with the model's version; a row keeps the estimate it got
        first, so a resumed search sees the same figures."""
        self.pool.wait_learning()
        fresh = [r for r in records.values()
                 if r.status == Status.OK and not is_settled(r) and (r.latency is None or r.latency.model is None)]
        out = {}
        for record in fresh:
            estimate = self.pool.estimate(arch_from_dict(self.config.backbone, record.arch))
            latency = replace(Latency.of(estimate), model=estimate.tool_versions["cycle_model_version"])
            out[record.arch_key] = self.store.set_latency(replace(record, latency=latency))
        return out

    def final(self, gen: int) -> list[str]:
        """Learn every measurement still in flight, then measure the search's front (the
        non-dominated set of everything evaluated) until every member is measured (a measured
        figure can let another candidate in); returns the front's keys."""
        self._settle_all(list(self.in_flight), gen)
        while True:
            rows = {r.arch_key: r for r in self.store.evaluations("ok") if r.settings_digest == self.digest}
            front, todo = unmeasured_front(rows.values(), self.config)
            if not todo:
                return front
            self.measure(gen, [rows[k] for k in todo])

    def measure(self, gen: int, records: list[EvaluationRecord]) -> dict[str, EvaluationRecord]:
        """Measure ``records`` now and learn them as of ``gen``; returns the new rows.

        Raises:
            ConfigError: a set-up problem of the target (it would fail every candidate).
        """
        futures = [self._send(r, gen) for r in records]
        return self._settle_all(futures, gen)

    def _send(self, record: EvaluationRecord, gen: int) -> Future[MeasuredRun]:
        future = self.pool.submit(arch_from_dict(self.config.backbone, record.arch))
        self.in_flight[future] = _Sent(record, gen, next(self._sent))
        return future

    def _settle_all(self, futures: list[Future[MeasuredRun]], gen: int) -> dict[str, EvaluationRecord]:
        """Wait for ``futures`` and learn them as of ``gen``, in the order they were sent.

        Raises:
            ConfigError: a set-up problem of the target (it would fail every candidate).
        """
        done = {}
        for future in sorted(futures, key=lambda f: self.in_flight[f].order):
            record = self.in_flight.pop(future).record
            done[record.arch_key] = self._settle(future, record, gen)
        return done

    def _settle(self, future: Future[MeasuredRun], record: EvaluationRecord, gen: int) -> EvaluationRecord:
        """Store the measurement of ``record`` as known from ``gen`` on, and teach it the estimate.

        Raises:
            ConfigError: a set-up problem of the target (it would fail every candidate).
        """
        try:
            run = future.result()
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - one failed run keeps that candidate's estimate
            return self.store.set_latency(record_measurement_failed(record, describe_failure(exc), gen))
        self.pool.learn(run)
        return self.store.set_latency(record_measured(record, run, gen))
