"""Benchmark: what a candidate evaluation costs beyond its forward passes (SPEC §4).

For random MobileNetV2 candidates of the shipped supernet, measured side by side in one run:

* ``evaluation / forward``: the whole candidate evaluation as the search runs it (select the
  candidate in the search-space function, forward passes, mIoU) over the validation subset,
  divided by the pure forward-pass time of the candidate's own Keras sub-network — built, weights
  copied and traced beforehand, outside the timing — over the same subset;
* ``build / evaluation``: preparing the candidate (no model is built: a control vector is filled),
  divided by the evaluation.

The search-space function is traced once per evaluator; that one-off set-up is printed on its own
(``setup s``) and is paid by the first candidate of a search, not by each one.

Targets: evaluation/forward <= 1.15 and build/evaluation <= 0.05. Both ratios depend on how much
forward work the subset holds, so the bench runs two scales: the demo's (20 images at 96 px) and
one closer to the paper's (all 100 validation images at the GAP8 input size, 384 px).

Usage: ``python bench/eval_overhead.py [--candidates 4] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf
import tf_keras

from fmas_hw.data.cache import load_split_arrays
from fmas_hw.data.synth import write_synthetic_voc
from fmas_hw.data.voc import VocDataset
from fmas_hw.demo import DATA, SUPERNET
from fmas_hw.eval.evaluator import SubsetEvaluator, batches
from fmas_hw.model.supernet import Supernet
from fmas_hw.resources import models_dir
from fmas_hw.space import MobileNetV2Space

SCALES = (("demo: 20 % of val at 96 px", 96, 0.2), ("paper-like: all val at 384 px", 384, 1.0))


def pure_forward_seconds(model: tf_keras.Model, images: np.ndarray, batch: int) -> float:
    """Forward passes only, on a model that is already built and traced (warm-up excluded)."""
    forward = tf.function(lambda x: tf.argmax(model(x, training=False), -1))
    labels = np.zeros(images.shape[:3], np.uint8)
    forward(next(batches(images, labels, batch))[0])  # trace once, outside the timing
    t0 = time.perf_counter()
    for x, _ in batches(images, labels, batch):
        forward(x).numpy()
    return time.perf_counter() - t0


def bench_scale(data, weights, manifest, size, fraction, genomes, batch=8):
    supernet = Supernet.build("mobilenetv2", size, manifest["classes"], manifest["alpha"], weights)
    images, labels = load_split_arrays(VocDataset(data, manifest["classes"]), "val", size, fraction)
    evaluator = SubsetEvaluator(supernet, images, labels, batch)
    setup = evaluator.evaluate(MobileNetV2Space().supernet()).build_seconds  # one-off trace
    rows = []
    for genome in genomes:
        arch = MobileNetV2Space().decode(genome)
        result = evaluator.evaluate(arch)
        forward = pure_forward_seconds(supernet.subnet(arch), images, batch)
        rows.append((result.seconds / forward, result.build_seconds / result.seconds, result.seconds, forward))
    return len(images), setup, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = MobileNetV2Space()
    rng = np.random.default_rng(args.seed)
    genomes = [space.supernet_genome] + ["".join("1" if b else "0" for b in space.random_genome(rng))
                                         for _ in range(args.candidates - 1)]
    weights = models_dir() / SUPERNET
    manifest = json.loads(weights.with_suffix(".json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        data = write_synthetic_voc(tmp, **DATA)
        print(f"{'scale':<32} {'images':>6} {'eval/forward':>13} {'build/eval':>11} {'eval s':>7} {'fwd s':>7}"
              f" {'setup s':>8}")
        for label, size, fraction in SCALES:
            n, setup, rows = bench_scale(data, weights, manifest, size, fraction, genomes)
            med = [statistics.median(col) for col in zip(*rows, strict=False)]
            print(f"{label:<32} {n:>6} {med[0]:>13.3f} {med[1]:>11.4f} {med[2]:>7.2f} {med[3]:>7.2f} {setup:>8.1f}")
    print("targets: eval/forward <= 1.15, build/eval <= 0.05 (medians over candidates)")


if __name__ == "__main__":
    main()
