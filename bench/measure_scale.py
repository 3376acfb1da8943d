"""Benchmark: a latency search whose measurements cost time, with 1 vs N measurement workers.

The same seeded search (the paper's MobileNetV2 budget, population 12 x 25 generations) runs side
by side on the ``simulated`` target: cycles from the cycle model under perturbed constants (a
stand-in for GVSoC, no SDK needed), each run sleeping ``--delay`` seconds per Mcycle as a
simulator would, through the whole measurement path (light project, run log, parse, online
refit). Accuracy comes from the test suite's instant fake evaluator and the estimate from the
real cycle model, so the wall time is the measurement side's. Three cases: measure-all with one
measurement worker (the sequential baseline), measure-all with N workers, and ``--measure front``
with N workers. Printed: wall time, candidates measured, final-front hypervolume on the simulated
"true" cycles, and the ratios to the sequential run. The front case runs once per margin of
``--margins`` (the first is the search's default).

The default delay, 2 ms per Mcycle, keeps the three searches near 12 minutes; GVSoC takes minutes
for a 2-Gcycle network (tens of ms per Mcycle), so on it the measurements dominate even more.

NSGA-II ranks a generation only once all of it is scored, so N workers that measured only the
generation asked for could not beat the best packing of each generation's measurements onto N
workers: the bench prints that bound, computed from the sequential run's own measurement times
(longest-first packing, per generation), and what measuring ahead (:mod:`fmas_hw.search.measure.ahead`:
idle workers measure the next generation's likely candidates) did in the N-worker run.

Usage: ``python bench/measure_scale.py [--workers 8] [--delay 0.002] [--generations 25]``
"""

from __future__ import annotations

import argparse
import heapq
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fake evaluator lives in tests/search/fakes.py

from fmas_hw.search import SearchConfig, run  # noqa: E402
from fmas_hw.search.indicators import hypervolume, reference_point  # noqa: E402
from fmas_hw.space import get_space  # noqa: E402
from fmas_hw.store import Store  # noqa: E402
from fmas_hw.targets.simulated import SimulatedTarget  # noqa: E402

FAKE = "bench.measure_scale:build_estimating_fake"


class EstimatingFake:
    """The instant fake accuracy of the test suite, with the real cycle-model estimate as latency."""

    def __init__(self, config) -> None:
        from fmas_hw.targets.estimate import EstimateTarget
        from tests.search.fakes import build_fake_evaluator

        self.fake, self.estimate = build_fake_evaluator(config), EstimateTarget()

    def costs(self, arch):
        return self.fake.costs(arch)

    def accuracy(self, arch):
        return self.fake.accuracy(arch)

    def latency(self, arch):
        from fmas_hw.gap8.candidate_file import CandidateSpec

        started = time.perf_counter()
        return self.estimate.measure_candidate(CandidateSpec(arch)), time.perf_counter() - started


def build_estimating_fake(config) -> EstimatingFake:
    """The evaluator factory the bench's searches name."""
    return EstimatingFake(config)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0, help="the searches' seed")
    parser.add_argument("--generations", type=int, default=25)
    parser.add_argument("--workers", type=int, default=8, help="measurement workers of the parallel run")
    parser.add_argument("--delay", type=float, default=0.002, help="simulated run seconds per Mcycle")
    parser.add_argument("--margins", type=lambda v: [float(m) for m in v.split(",")], default=[0.01, 0.1],
                        help="--measure-margin of each front case, comma-separated")
    parser.add_argument("--only-front", action="store_true", help="run the front case alone (no ratios)")
    return parser.parse_args(argv)


def search(args: argparse.Namespace, workers: int, folder: Path, measure: str = "all",
           margin: float = 0.1) -> dict[str, Any]:
    """One search; its wall time, measured candidates and final-front hypervolume."""
    config = SearchConfig(population=args.population, generations=args.generations, objectives=("latency",),
                          seed=args.seed,
                          evaluator=FAKE, target="simulated", measure_workers=workers, input_size=96,
                          measure=measure, measure_margin=margin,
                          store=str(folder / f"m{workers}-{measure}-{margin:g}.sqlite"))
    started = time.perf_counter()
    result = run(config, target=SimulatedTarget(delay_s_per_mcycle=args.delay))  # the CLI has no delay option
    wall = time.perf_counter() - started
    with Store.open(result.store_path, writable=False) as store:
        rows = store.evaluations("ok")
    measured = sum(r.cycles_source == "simulated" for r in rows)
    supernet = next(r for r in rows if r.arch_key == get_space("mobilenetv2").supernet().key)
    front = np.array([[e["error"], e["cycles"]] for e in result.front], dtype=float)
    hv = hypervolume(front / [1.0, supernet.cycles], reference_point(1))  # as the search normalises
    return {"workers": workers, "wall": wall, "measured": measured, "evaluated": len(rows), "hv": hv,
            "front": len(result.front), "store": result.store_path, "ahead": result.measured_ahead}


def barrier_bound(store_path: Path, workers: int) -> float:
    """The best speed-up ``workers`` can give a generation-synchronous search: each generation's
    measurement times (as the sequential run took them) packed longest-first onto the workers."""
    with Store.open(store_path, writable=False) as store:
        rows = store.evaluations("ok")
    by_gen: dict[int, list[float]] = {}
    for r in rows:
        by_gen.setdefault(r.generation, []).append(r.latency_seconds or 0.0)
    total = packed = 0.0
    for seconds in by_gen.values():
        finish = [0.0] * workers
        for s in sorted(seconds, reverse=True):
            heapq.heappush(finish, heapq.heappop(finish) + s)
        total, packed = total + sum(seconds), packed + max(finish)
    return total / packed if packed else 1.0


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"simulated target, {args.delay * 1e3:g} ms per Mcycle; search M={args.population} "
          f"G={args.generations}, fake accuracy")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only_front:
            for margin in args.margins:
                r = search(args, args.workers, Path(tmp), "front", margin)
                print(f"measure front, {args.workers} workers, margin {margin:g}: {r['wall']:.1f} s, "
                      f"measured {r['measured']}/{r['evaluated']}, HV {r['hv']:.4f}")
            return
        base = search(args, 1, Path(tmp))
        bound = barrier_bound(base["store"], args.workers)
        wide = search(args, args.workers, Path(tmp))
        fronts = [(m, search(args, args.workers, Path(tmp), "front", m)) for m in args.margins]
    print(f"{'case':<38} {'wall s':>8} {'measured':>9} {'front':>6} {'HV':>8} {'speed-up':>9} {'HV ratio':>9}")
    cases = [("measure all, 1 worker (today)", base), (f"measure all, {args.workers} workers", wide),
             *((f"measure front, {args.workers} workers, margin {m:g}", r) for m, r in fronts)]
    for label, r in cases:
        print(f"{label:<38} {r['wall']:8.1f} {r['measured']:>4}/{r['evaluated']:<4} {r['front']:>6} {r['hv']:8.4f} "
              f"{base['wall'] / r['wall']:9.2f} {r['hv'] / base['hv']:9.3f}")
    print(f"bound of {args.workers} workers on a generation-synchronous search that does not measure ahead "
          f"(this run's measurement times, longest first per generation): {bound:.2f}x")
    ahead = wide["ahead"] or {"made": 0, "used": 0, "cancelled": 0, "wasted": 0}
    print(f"measured ahead in the {args.workers}-worker measure-all run: {ahead['made']} guessed, {ahead['used']} "
          f"asked for, {ahead['cancelled']} cancelled before running, {ahead['wasted']} measured for nothing")


if __name__ == "__main__":
    main()
