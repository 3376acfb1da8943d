"""Benchmark: NSGA-II vs random search with the same number of evaluations.

On the shipped MobileNetV2 demo supernet and the synthetic data, objectives (error, GAP8 cycles on
the estimate target), for several seeds: NSGA-II runs as ``fmas-hw search`` does; random search
evaluates as many distinct random genomes (plus the supernet) with the same evaluator. Both are
scored by the hypervolume of the non-dominated set of everything they evaluated, in the search's
normalised objective space (error, cycles / supernet cycles) with its fixed reference point.

Usage: ``python bench/search_quality.py [--seeds 3] [--population 12] [--generations 25]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from fmas_hw.data.synth import write_synthetic_voc
from fmas_hw.demo import DATA, SUPERNET
from fmas_hw.resources import models_dir
from fmas_hw.search import SearchConfig, run
from fmas_hw.search.indicators import hypervolume, reference_point
from fmas_hw.search.supernet_evaluator import build_supernet_evaluator
from fmas_hw.space import MobileNetV2Space
from fmas_hw.store import Store


def _hv(points: list[tuple[float, float]], supernet_cycles: float) -> float:
    F = np.array([[e, c / supernet_cycles] for e, c in points])
    return hypervolume(F, reference_point(1))


def nsga2(config: SearchConfig) -> tuple[list[tuple[float, float]], int]:
    result = run(config)
    with Store.open(result.store_path, writable=False) as store:
        rows = store.evaluations("ok")
    return [(r.error, r.cycles) for r in rows], len(rows)


def random_search(config: SearchConfig, budget: int, seed: int) -> list[tuple[float, float]]:
    space, evaluator = MobileNetV2Space(), build_supernet_evaluator(config.resolved(), config.target)
    rng, seen, points = np.random.default_rng(seed + 1000), set(), []
    archs = [space.supernet()]
    while len(archs) < budget:
        arch = space.decode(space.random_genome(rng))
        if arch.key not in seen and arch != space.supernet():
            seen.add(arch.key)
            archs.append(arch)
    for arch in archs:
        error, _ = evaluator.accuracy(arch)
        measured, _ = evaluator.latency(arch)
        cycles = measured.total_cycles
        points.append((error, cycles))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--population", type=int, default=12)
    parser.add_argument("--generations", type=int, default=25)
    args = parser.parse_args()
    weights = models_dir() / SUPERNET
    manifest = json.loads(weights.with_suffix(".json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        data = write_synthetic_voc(Path(tmp) / "data", **DATA)
        print(f"{'seed':>4} {'evals':>6} {'HV nsga2':>9} {'HV random':>10} {'ratio':>6}")
        ratios = []
        for seed in range(args.seeds):
            config = SearchConfig(backbone="mobilenetv2", objectives=("latency",), target="estimate",
                                  data=str(data), weights=str(weights), population=args.population,
                                  generations=args.generations, seed=seed, input_size=manifest["input_size"],
                                  store=str(Path(tmp) / f"s{seed}.sqlite"))
            ga_points, budget = nsga2(config)
            supernet_cycles = max(c for _, c in ga_points)
            rs_points = random_search(config, budget, seed)
            ga, rs = _hv(ga_points, supernet_cycles), _hv(rs_points, supernet_cycles)
            ratios.append(ga / rs if rs else float("inf"))
            print(f"{seed:>4} {budget:>6} {ga:>9.4f} {rs:>10.4f} {ratios[-1]:>6.3f}")
    print(f"mean HV ratio NSGA-II / random: {np.mean(ratios):.3f} (goal: > 1)")


if __name__ == "__main__":
    main()
