"""Score a candidate on the validation subset without fine-tuning (SPEC §4).

The subset is decoded once (:mod:`fmas_hw.data.cache`) and held as arrays; the supernet stays in
memory; a candidate is built with the supernet's weights (:meth:`Supernet.subnet`) and run by ONE
traced function with a fixed batch shape, so evaluation costs the forward passes and little else.
The confusion matrix is accumulated on the device side (only K x K counts leave TensorFlow).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

from ..model.supernet import Supernet
from ..space import Arch
from .miou import ConfusionMatrix

IGNORE = 255


@dataclass
class Evaluation:
    """Result of one candidate evaluation.

    Attributes:
        error: 1 - mIoU on the subset.
        miou: mean IoU over the classes present (VOC metric).
        images: number of images evaluated.
        seconds: wall time of the whole evaluation (build + forward passes).
        build_seconds: building the candidate and copying its weights.
        forward_seconds: the forward passes and the metric.
    """

    error: float
    miou: float
    images: int
    seconds: float
    build_seconds: float
    forward_seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def _confusion_fn(model: tf.keras.Model, classes: int, batch: int, size: int):
    spec = (tf.TensorSpec([batch, size, size, 3], tf.float32), tf.TensorSpec([batch, size, size], tf.uint8))

    @tf.function(input_signature=spec, reduce_retracing=True)
    def confusion(images, labels):
        predictions = tf.argmax(model(images, training=False), axis=-1, output_type=tf.int32)
        labels = tf.cast(labels, tf.int32)
        keep = labels != IGNORE
        index = tf.boolean_mask(labels * classes + predictions, keep)
        return tf.math.bincount(index, minlength=classes * classes, maxlength=classes * classes)

    return confusion


def batches(images: np.ndarray, labels: np.ndarray, batch: int):
    """Fixed-shape batches; the last one padded with ignore-labelled blanks (no retracing)."""
    for start in range(0, len(images), batch):
        x, y = images[start: start + batch], labels[start: start + batch]
        if len(x) < batch:
            pad = batch - len(x)
            x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
            y = np.concatenate([y, np.full((pad, *y.shape[1:]), IGNORE, y.dtype)])
        yield x, y


def confusion_matrix(model: tf.keras.Model, images: np.ndarray, labels: np.ndarray, classes: int,
                     batch: int = 8) -> ConfusionMatrix:
    """Accumulated confusion matrix of ``model`` over ``images`` (ignore label excluded)."""
    fn = _confusion_fn(model, classes, min(batch, len(images)), images.shape[1])
    counts = np.zeros(classes * classes, np.int64)
    for x, y in batches(images, labels, min(batch, len(images))):
        counts += fn(x, y).numpy()
    cm = ConfusionMatrix(classes)
    cm.matrix[:] = counts.reshape(classes, classes)
    return cm


class SubsetEvaluator:
    """Scores candidates of one supernet on one fixed validation subset.

    Args:
        supernet: the in-memory supernet (weights source).
        images: preprocessed float32 (N, S, S, 3) subset, S = the supernet's input size.
        labels: uint8 (N, S, S), 255 = ignore.
        batch: forward-pass batch size.
    """

    def __init__(self, supernet: Supernet, images: np.ndarray, labels: np.ndarray, batch: int = 8):
        self.supernet, self.images, self.labels, self.batch = supernet, images, labels, batch

    def evaluate(self, arch: Arch, model: tf.keras.Model | None = None) -> Evaluation:
        """Error (1 - mIoU) of ``arch`` on the subset, with timings.

        Args:
            arch: the candidate.
            model: the candidate already built with the supernet's weights (skips the build).
        """
        t0 = time.perf_counter()
        model = model if model is not None else self.supernet.subnet(arch)
        t1 = time.perf_counter()
        cm = confusion_matrix(model, self.images, self.labels, self.supernet.classes, self.batch)
        t2 = time.perf_counter()
        miou = cm.miou()
        return Evaluation(1.0 - miou, miou, len(self.images), t2 - t0, t1 - t0, t2 - t1)


def evaluate(arch: Arch, supernet: Supernet, data, fraction: float = 0.2, batch: int = 8) -> Evaluation:
    """Evaluate ``arch`` on the first ``fraction`` of ``data``'s ``val.txt`` (file order).

    Args:
        arch: the candidate.
        supernet: the in-memory supernet providing the weights.
        data: a :class:`~fmas_hw.data.voc.VocDataset` or a path to a VOC-format data set.
        fraction: leading fraction of the validation list (0.2 during search, 1.0 at the end).
        batch: batch size of the forward passes.

    Raises:
        DataError: unreadable or inconsistent data files.
    """
    from ..data.cache import load_split_arrays
    from ..data.voc import VocDataset

    dataset = data if isinstance(data, VocDataset) else VocDataset(data, num_classes=supernet.classes)
    images, labels = load_split_arrays(dataset, "val", supernet.input_size, fraction, backbone=supernet.backbone)
    return SubsetEvaluator(supernet, images, labels, batch).evaluate(arch)
