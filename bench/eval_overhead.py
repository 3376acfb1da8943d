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

``--scale paper`` runs the paper's cases instead, with random weights (the timing does not depend
on them): MobileNetV2 at 384 px and Xception at 513 px, 21 classes, on 290 validation images (20 %
of VOC's 1449), and projects the paper's Xception search (240 candidates) from the median
evaluation. ``--device`` runs everything on the CPU or the GPU (:mod:`fmas_hw.model.device`); the
pure forward passes run on the same device, in the same process. At paper scale on a CPU, pass
``--images`` to keep it short: an Xception candidate is about 108 GFLOPs per image.

Usage: ``python bench/eval_overhead.py [--candidates 4] [--seed 0] [--scale demo|paper] [--device auto|cpu|gpu]
[--images N]``
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
from fmas_hw.eval.evaluator import SubsetEvaluator, activation_bytes, batches, device_batch
from fmas_hw.model.device import DEVICE_CHOICES, ComputeDevice, use_device
from fmas_hw.model.supernet import Supernet
from fmas_hw.resources import models_dir
from fmas_hw.space import get_space

SCALES = (("demo: 20 % of val at 96 px", 96, 0.2), ("paper-like: all val at 384 px", 384, 1.0))
#: The paper's cases: backbone, input size; 290 images (20 % of VOC val), 21 classes.
PAPER = (("mobilenetv2", 384), ("xception", 513))
PAPER_IMAGES, PAPER_CANDIDATES = 290, 240


def pure_forward_seconds(model: tf_keras.Model, images: np.ndarray, batch: int) -> float:
    """Forward passes only, on a model that is already built and traced (warm-up excluded)."""
    forward = tf.function(lambda x: tf.argmax(model(x, training=False), -1))
    labels = np.zeros(images.shape[:3], np.uint8)
    forward(next(batches(images, labels, batch))[0])  # trace once, outside the timing
    t0 = time.perf_counter()
    for x, _ in batches(images, labels, batch):
        forward(x).numpy()
    return time.perf_counter() - t0


def bench_scale(supernet: Supernet, images: np.ndarray, labels: np.ndarray, genomes: list[str],
                device: ComputeDevice, batch: int | None = None):
    space = get_space(supernet.backbone)
    batch = batch or device_batch(supernet.input_size, device, activation_bytes(supernet.model))
    evaluator = SubsetEvaluator(supernet, images, labels, batch, device)
    setup = evaluator.evaluate(space.supernet()).build_seconds  # one-off trace
    rows = []
    for genome in genomes:
        arch = space.decode(genome)
        result = evaluator.evaluate(arch)
        forward = pure_forward_seconds(supernet.subnet(arch), images, evaluator.batch)
        rows.append((result.seconds / forward, result.build_seconds / result.seconds, result.seconds, forward,
                     len(images) / result.seconds))
    return setup, evaluator.batch, rows


def _genomes(backbone: str, candidates: int, seed: int) -> list[str]:
    space, rng = get_space(backbone), np.random.default_rng(seed)
    return [space.supernet_genome] + ["".join("1" if b else "0" for b in space.random_genome(rng))
                                      for _ in range(candidates - 1)]


def _row(label: str, n: int, batch: int, setup: float, rows: list[tuple]) -> list[float]:
    med = [statistics.median(col) for col in zip(*rows, strict=False)]
    print(f"{label:<34} {n:>6} {batch:>5} {med[0]:>13.3f} {med[1]:>11.4f} {med[2]:>8.2f} {med[3]:>8.2f} "
          f"{med[4]:>7.1f} {setup:>8.1f}")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", choices=("demo", "paper"), default="demo")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--images", type=int, default=PAPER_IMAGES, help="validation images at paper scale")
    args = parser.parse_args()
    device = use_device(args.device)  # before any model: TensorFlow fixes its devices then
    print(f"device: {device.describe()}, TensorFlow {tf.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'case':<34} {'images':>6} {'batch':>5} {'eval/forward':>13} {'build/eval':>11} {'eval s':>8} "
              f"{'fwd s':>8} {'img/s':>7} {'setup s':>8}")
        if args.scale == "demo":
            weights = models_dir() / SUPERNET
            manifest = json.loads(weights.with_suffix(".json").read_text())
            data = write_synthetic_voc(tmp, **DATA)
            genomes = _genomes("mobilenetv2", args.candidates, args.seed)
            for label, size, fraction in SCALES:
                supernet = Supernet.build("mobilenetv2", size, manifest["classes"], manifest["alpha"], weights)
                images, labels = load_split_arrays(VocDataset(data, manifest["classes"]), "val", size, fraction)
                setup, batch, rows = bench_scale(supernet, images, labels, genomes, device, batch=8)
                _row(label, len(images), batch, setup, rows)
        else:
            data = write_synthetic_voc(tmp, train=1, val=args.images, size=128, num_classes=21, seed=args.seed)
            for backbone, size in PAPER:
                supernet = Supernet.build(backbone, size, 21, 1.0, None)  # random weights
                images, labels = load_split_arrays(VocDataset(data, 21), "val", size, 1.0, backbone=backbone)
                genomes = _genomes(backbone, args.candidates, args.seed)
                setup, batch, rows = bench_scale(supernet, images, labels, genomes, device)
                med = _row(f"{backbone} {size} px, random weights", len(images), batch, setup, rows)
                if backbone == "xception":
                    hours = (setup + PAPER_CANDIDATES * med[2] * PAPER_IMAGES / len(images)) / 3600
                    print(f"projected: the paper's {PAPER_CANDIDATES}-candidate Xception search on {device.describe()}: "
                          f"{hours:.2f} h of candidate evaluation ({PAPER_IMAGES} images each)")
    print("targets: eval/forward <= 1.15, build/eval <= 0.05 (medians over candidates)")


if __name__ == "__main__":
    main()
