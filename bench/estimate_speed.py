"""Speed of the ``estimate`` target: ms per candidate, graph build and model evaluation apart.

For N random MobileNetV2 genomes (seeded) it times, side by side:

* graph build — the layer graph interpreted from the network definition (once per architecture,
  then cached by :func:`fmas_hw.gap8.arch_graph.arch_graph`);
* model evaluation — memory plan + cycle model on the cached graph (what every later call of
  :meth:`EstimateTarget.estimate_arch` costs; the target is < 50 ms).

With ``--crosscheck`` it also prints the unscaled model's MAC/cycle on Keras MobileNetV2
classification backbones next to GreenWaves' published GAP8 figures (icn README).

Usage: ``python bench/estimate_speed.py [-n 10] [--alpha 1.0] [--classes 21] [--crosscheck]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: (alpha, input size) -> published MAC/cycle on GAP8 (icn README: MMAC x FPS / 175 MHz).
PUBLISHED = {(1.0, 224): 5.8, (1.0, 160): 6.1, (0.75, 224): 5.5, (0.5, 224): 4.9, (0.5, 128): 4.1}


def _ms(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000.0, out


def bench_candidates(n: int, alpha: float, classes: int, seed: int) -> None:
    """Print build and evaluation times of ``n`` random genomes."""
    import numpy as np

    from fmas_hw.gap8.arch_graph import arch_graph
    from fmas_hw.space import MobileNetV2Space, format_genome
    from fmas_hw.targets.estimate import EstimateTarget

    space, target = MobileNetV2Space(), EstimateTarget()
    rng = np.random.default_rng(seed)
    _ms(lambda: arch_graph(space.supernet(), classes, alpha))  # TensorFlow start-up, not counted
    builds, evals = [], []
    print(f"{'genome':<30} {'build ms':>9} {'eval ms':>8} {'M cycles':>9}")
    for _ in range(n):
        genome = format_genome(space.random_genome(rng))
        arch = space.decode(genome)
        build, _ = _ms(lambda arch=arch: arch_graph(arch, classes, alpha))
        runs = [_ms(lambda arch=arch: target.estimate_arch(arch, classes, alpha)) for _ in range(5)]
        evaluation, m = min(runs, key=lambda r: r[0])
        builds.append(build)
        evals.append(evaluation)
        print(f"{genome:<30} {build:>9.0f} {evaluation:>8.1f} {m.total_cycles / 1e6:>9.1f}")
    first = [b + e for b, e in zip(builds, evals, strict=True)]
    print(f"\nmedian over {n} candidates: graph build {statistics.median(builds):.1f} ms, "
          f"model evaluation {statistics.median(evals):.1f} ms, "
          f"first estimate of a new candidate {statistics.median(first):.1f} ms (target < 50 ms)")


def crosscheck() -> None:
    """Unscaled model MAC/cycle on MobileNetV2 classification backbones vs published GAP8 figures."""
    import tf_keras

    from fmas_hw.costmodel.cycle_model import graph_features, layer_cycles, load_cycle_model
    from fmas_hw.gap8.graph import extract_graph
    from fmas_hw.gap8.memory import plan_memory

    model = load_cycle_model()
    print(f"\n{'MobileNetV2':<14} {'MMAC':>6} {'model MAC/cycle':>16} {'published':>10}")
    for (alpha, size), published in PUBLISHED.items():
        keras = tf_keras.applications.MobileNetV2((size, size, 3), alpha=alpha, include_top=False, weights=None)
        graph = extract_graph(keras)
        cycles = sum(layer_cycles(f, model.params, model.cores) for f in graph_features(graph, plan_memory(graph)))
        name = f"{alpha:g}-{size}"
        print(f"{name:<14} {graph.macs / 1e6:>6.0f} {graph.macs / cycles:>16.2f} {published:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="random genomes")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--classes", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crosscheck", action="store_true", help="compare with published GAP8 figures")
    args = parser.parse_args()
    bench_candidates(args.n, args.alpha, args.classes, args.seed)
    if args.crosscheck:
        crosscheck()


if __name__ == "__main__":
    main()
