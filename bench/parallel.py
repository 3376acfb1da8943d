"""Benchmark: search throughput with 1 vs 2 workers, and accuracy/latency overlapped vs sequential.

All configurations run the same seeded search, side by side in one invocation, and the ratios
are printed. The candidates are always scored by the fake evaluator of the test suite with
device-like sleeps (``--accuracy-s``, ``--latency-s``): it shows what the search machinery itself
gains. With ``--evaluator builtin --data DIR --weights FILE`` (or another factory
``package.module:callable``) the same cases also run with that evaluator, whose TensorFlow
compute competes for the cores, plus a case of two workers that each take every core (what
workers did before they got their share): both columns are printed side by side, with the
threads per worker of each row (``--threads-per-worker`` sets them; by default a pool shares
the cores out and one in-process worker keeps TensorFlow's own choice).

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
from fmas_hw.search.threads import available_cores, worker_share  # noqa: E402
from fmas_hw.store import Store  # noqa: E402

FAKE = "tests.search.fakes:build_slow_evaluator"
ALL_CORES = -1  # a case's threads: every core for each worker (no share)
CASES = (  # (label, workers, overlap, threads: None = --threads-per-worker or the default share)
    ("1 worker, sequential", 1, False, None),
    ("1 worker, overlapped", 1, True, None),
    ("2 workers, overlapped", 2, True, None),
)
#: Only with a real evaluator: two workers fighting over every core, as before the share.
FIGHT = ("2 workers, every core each", 2, True, ALL_CORES)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--accuracy-s", type=float, default=0.3, help="fake accuracy seconds per candidate")
    parser.add_argument("--latency-s", type=float, default=0.2, help="fake latency seconds per candidate")
    parser.add_argument("--evaluator", default=None,
                        help="also measure this evaluator factory module:callable, or 'builtin' (the "
                             "supernet evaluator, with --data and --weights)")
    parser.add_argument("--data", default=None)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="leading fraction of val.txt the real evaluator scores each candidate on")
    parser.add_argument("--random-init", action="store_true",
                        help="with 'builtin' and no --weights: time the evaluator on a random supernet")
    parser.add_argument("--threads-per-worker", type=int, default=None,
                        help="threads of each worker  [default: the cores shared out between a pool's "
                             "workers; TensorFlow's own choice for one in-process worker]")
    parser.add_argument("--objective", default="latency")
    return parser.parse_args(argv)


def case_threads(args: argparse.Namespace, workers: int, threads: int | None) -> int | None:
    """The threads each worker of a case runs with (None: TensorFlow's own choice)."""
    if threads == ALL_CORES:
        return available_cores()
    return worker_share(workers, args.threads_per_worker)


def measure(args: argparse.Namespace, evaluator: str, case: tuple[str, int, bool, int | None],
            folder: Path) -> dict[str, Any]:
    """Run one search; returns evaluations, wall seconds, and steady-state seconds (gen >= 1,
    i.e. without worker start-up)."""
    label, workers, overlap, threads = case
    threads = case_threads(args, workers, threads)
    real = evaluator != FAKE
    config = SearchConfig(population=args.population, generations=args.generations, objectives=args.objective,
                          evaluator=None if evaluator == "builtin" else evaluator,
                          data=args.data if real else None, weights=args.weights if real else None,
                          random_init=args.random_init and real, val_fraction=args.val_fraction,
                          workers=workers, overlap=overlap,
                          threads_per_worker=threads,
                          store=str(folder / f"{'real' if real else 'fake'}-{label.replace(' ', '_')}.sqlite"))
    started = time.perf_counter()
    result = run(config)
    wall = time.perf_counter() - started
    with Store.open(result.store_path, writable=False) as store:
        gens = store.generations()
    steady = [g for g in gens if g.gen >= 1]
    return {"evals": result.evaluations, "wall": wall, "front": result.front, "threads": threads,
            "steady_evals": sum(g.n_evaluated for g in steady), "steady_wall": sum(g.wall_seconds for g in steady)}


def rate(row: dict[str, Any], kind: str = "") -> float:
    """Candidates per second, overall (``kind`` "") or in the steady state (``"steady_"``)."""
    return float(row[f"{kind}evals"] / row[f"{kind}wall"])


def cells(row: dict[str, Any] | None) -> str:
    """One evaluator's columns of a row."""
    if row is None:
        return f"{'-':>6}{'-':>9}{'-':>9}{'-':>9}"
    return f"{row['evals']:>6}{row['wall']:>9.2f}{rate(row):>9.2f}{rate(row, 'steady_'):>9.2f}"


def print_table(fake: dict[str, dict[str, Any]], real: dict[str, dict[str, Any]]) -> None:
    """The cases as rows, the fake evaluator's and the real one's columns side by side."""
    head = f"{'evals':>6}{'wall s':>9}{'cand/s':>9}{'steady':>9}"
    print(f"{'':<28}{'':>9}{'fake evaluator':^33}" + (f"{'real evaluator':^33}" if real else ""))
    print(f"{'configuration':<28}{'threads':>9}{head}" + (head if real else ""))
    for label in dict.fromkeys([*fake, *real]):
        row = fake.get(label) or real[label]
        threads = row["threads"] if row["threads"] is not None else f"all {available_cores()}"
        print(f"{label:<28}{threads!s:>9}{cells(fake.get(label))}" + (cells(real.get(label)) if real else ""))


def print_ratios(name: str, rows: dict[str, dict[str, Any]]) -> None:
    """Overlap vs sequential, two workers vs one, and (when measured) shared vs every core."""
    seq, ovl, two = (rows[label] for label, *_ in CASES)
    print(f"{name}: overlap vs sequential (1 worker): x{rate(ovl) / rate(seq):.2f} throughput; "
          f"2 workers vs 1 (overlapped): x{rate(two) / rate(ovl):.2f} overall, "
          f"x{rate(two, 'steady_') / rate(ovl, 'steady_'):.2f} steady state (without worker start-up)")
    if FIGHT[0] in rows:
        fight = rows[FIGHT[0]]
        print(f"{name}: 2 workers sharing the cores vs each taking every core: x{rate(two) / rate(fight):.2f} "
              f"overall, x{rate(two, 'steady_') / rate(fight, 'steady_'):.2f} steady state")
    same = all(r["front"] == seq["front"] for r in rows.values())
    print(f"{name}: identical Pareto front in every configuration: {same}")


def main(argv: list[str] | None = None) -> None:
    """Measure every case with the fake (and the given) evaluator; print the table and ratios."""
    args = parse_args(argv)
    os.environ["FMAS_FAKE_ACC_S"] = str(args.accuracy_s)  # read by the fake in every worker
    os.environ["FMAS_FAKE_LAT_S"] = str(args.latency_s)
    print(f"search M={args.population} G={args.generations} on {available_cores()} core(s); fake evaluator: "
          f"accuracy {args.accuracy_s} s, latency {args.latency_s} s per candidate"
          + (f"; real evaluator: {args.evaluator}" if args.evaluator else ""))
    real: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        fake = {case[0]: measure(args, FAKE, case, Path(folder)) for case in CASES}
        if args.evaluator:
            real = {case[0]: measure(args, args.evaluator, case, Path(folder)) for case in (*CASES, FIGHT)}
    print_table(fake, real)
    print_ratios("fake", fake)
    if real:
        print_ratios("real", real)


if __name__ == "__main__":
    main()
