"""Benchmark: search throughput with 1 vs 2 workers, and accuracy/latency overlapped vs sequential.

All configurations run the same seeded search, side by side in one invocation, and the ratios
are printed. By default the candidates are scored by the fake evaluator of the test suite with
device-like sleeps (``--accuracy-s``, ``--latency-s``); ``--evaluator`` (with ``--data`` and
``--weights``) measures another evaluator factory instead (``package.module:callable``; ``builtin``
for the supernet evaluator of a real search).

Usage: ``python bench/parallel.py [--population 8] [--generations 3] [--accuracy-s 0.3] ...``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fake evaluator lives in tests/search/fakes.py

from fmas_hw.search import SearchConfig, run  # noqa: E402
from fmas_hw.store import Store  # noqa: E402

FAKE = "tests.search.fakes:build_slow_evaluator"
CASES = (  # (label, workers, overlap)
    ("1 worker, sequential", 1, False),
    ("1 worker, overlapped", 1, True),
    ("2 workers, overlapped", 2, True),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--accuracy-s", type=float, default=0.3, help="fake accuracy seconds per candidate")
    parser.add_argument("--latency-s", type=float, default=0.2, help="fake latency seconds per candidate")
    parser.add_argument("--evaluator", default=FAKE,
                        help="evaluator factory module:callable, or 'builtin' (the supernet evaluator)")
    parser.add_argument("--data", default=None)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--random-init", action="store_true",
                        help="with 'builtin' and no --weights: time the evaluator on a random supernet")
    parser.add_argument("--objective", default="latency")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, workers: int, overlap: bool, folder: Path) -> dict[str, Any]:
    """Run one search; returns evaluations, wall seconds, and steady-state seconds (gen >= 1,
    i.e. without worker start-up)."""
    config = SearchConfig(population=args.population, generations=args.generations, objectives=args.objective,
                          evaluator=None if args.evaluator == "builtin" else args.evaluator, data=args.data, weights=args.weights, workers=workers,
                          random_init=args.random_init,
                          overlap=overlap, store=str(folder / f"w{workers}-o{int(overlap)}.sqlite"))
    started = time.perf_counter()
    result = run(config)
    wall = time.perf_counter() - started
    with Store.open(result.store_path, writable=False) as store:
        gens = store.generations()
    steady = [g for g in gens if g.gen >= 1]
    return {"evals": result.evaluations, "wall": wall, "front": result.front,
            "steady_evals": sum(g.n_evaluated for g in steady), "steady_wall": sum(g.wall_seconds for g in steady)}


def main(argv: list[str] | None = None) -> None:
    """Measure every case and print the table and the ratios."""
    args = parse_args(argv)
    os.environ["FMAS_FAKE_ACC_S"] = str(args.accuracy_s)  # read by the fake in every worker
    os.environ["FMAS_FAKE_LAT_S"] = str(args.latency_s)
    print(f"search M={args.population} G={args.generations}, evaluator {args.evaluator}"
          + (f" (accuracy {args.accuracy_s} s, latency {args.latency_s} s per candidate)" if args.evaluator == FAKE else ""))
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, workers, overlap in CASES:
            rows[label] = measure(args, workers, overlap, Path(folder))
    print(f"{'configuration':<24}{'evals':>6}{'wall s':>9}{'cand/s':>9}{'steady cand/s':>15}{'front':>7}")
    for label, r in rows.items():
        print(f"{label:<24}{r['evals']:>6}{r['wall']:>9.2f}{r['evals'] / r['wall']:>9.2f}"
              f"{r['steady_evals'] / r['steady_wall']:>15.2f}{len(r['front']):>7}")
    seq, ovl, two = (rows[label] for label, _, _ in CASES)
    rate = lambda r, k="": r[f"{k}evals"] / r[f"{k}wall"]  # noqa: E731
    print(f"overlap vs sequential (1 worker):  x{rate(ovl) / rate(seq):.2f} throughput")
    print(f"2 workers vs 1 (overlapped):       x{rate(two) / rate(ovl):.2f} overall, "
          f"x{rate(two, 'steady_') / rate(ovl, 'steady_'):.2f} steady state (without worker start-up)")
    same = all(r["front"] == seq["front"] for r in rows.values())
    print(f"identical Pareto front in every configuration: {same}")


if __name__ == "__main__":
    main()
