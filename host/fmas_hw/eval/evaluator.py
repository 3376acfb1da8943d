"""Score a candidate on the validation subset without fine-tuning (SPEC §4).

The subset is decoded once (:mod:`fmas_hw.data.cache`) and held as arrays; the supernet stays in
memory. Candidates are not built at all: the whole search space runs as ONE function, traced once
per evaluator, whose architecture choices are runtime inputs
(:class:`~fmas_hw.model.executor.SwitchableSupernet`, the supernet's weights with BatchNorm folded).
Selecting a candidate fills a control vector, so an evaluation costs its forward passes and little
else. The confusion matrix is accumulated on the device side (only K x K counts leave TensorFlow).
A Keras model can still be evaluated as such (e.g. the GAP8-adapted network).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf
import tf_keras

from ..errors import ArchitectureError
from ..model.device import ComputeDevice
from ..model.executor import SwitchableSupernet
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
        build_seconds: selecting the candidate (plus, for an evaluator's first candidate, the
            one-off trace of the search-space function; building a Keras model when one is used).
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


def confusion_counts(logits: tf.Tensor, labels: tf.Tensor, classes: int) -> tf.Tensor:
    """Flattened K x K confusion counts (row = label, column = prediction), ignore label excluded."""
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    labels = tf.cast(labels, tf.int32)
    keep = labels != IGNORE
    index = tf.boolean_mask(labels * classes + predictions, keep)
    return tf.math.bincount(index, minlength=classes * classes, maxlength=classes * classes)


def per_image_confusion_counts(logits: tf.Tensor, labels: tf.Tensor, classes: int) -> tf.Tensor:
    """(B, K*K) confusion counts, one row per image of the batch (ignore label excluded).

    One bincount over ``image * K*K + label * K + prediction`` keeps the images apart, so a
    proxy study can sum any leading run of images afterwards without a second forward pass.
    """
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    labels = tf.cast(labels, tf.int32)
    cells = classes * classes
    image = tf.reshape(tf.range(tf.shape(labels)[0]), [-1, 1, 1]) * cells
    keep = labels != IGNORE
    index = tf.boolean_mask(image + labels * classes + predictions, keep)
    size = tf.shape(labels)[0] * cells
    return tf.reshape(tf.math.bincount(index, minlength=size, maxlength=size), [-1, cells])


def default_batch(input_size: int) -> int:
    """Forward-pass batch for ``input_size`` px: 8, up to 32 for small inputs.

    On CPU a small image leaves each op little work, so per-op overhead dominates; a larger
    batch amortises it (the 64 px demo supernet: 0.21 s against 0.38 s per 200-image candidate,
    batch 32 against 8, measured side by side). The batch changes only the speed: confusion
    counts are sums over images.
    """
    return max(8, min(32, 2 * (256 // input_size) ** 2))


#: Share of a GPU's memory the forward passes' activations may fill, the largest GPU batch, and
#: the memory assumed of a GPU whose driver does not tell its size.
GPU_MEMORY_SHARE, GPU_MAX_BATCH, GPU_MEMORY_ASSUMED = 0.5, 64, 8 * 2**30


def activation_bytes(model: tf_keras.Model) -> int:
    """Float32 activation memory one image needs in a forward pass, bounded from above as three
    times the largest layer output (that output, its input and one skip tensor alive at once)."""
    largest = max((int(np.prod(shape[1:])) for layer in model.layers
                   for shape in _output_shapes(layer) if None not in shape[1:]), default=0)
    return 3 * 4 * largest


def _output_shapes(layer) -> list[tuple]:
    shape = layer.output_shape
    return list(shape) if isinstance(shape, list) else [shape]


def device_batch(input_size: int, device: ComputeDevice | None, image_bytes: int) -> int:
    """Forward-pass batch on ``device``: :func:`default_batch` on the CPU; on a GPU the largest
    power of two whose activations (``image_bytes`` each) fill at most :data:`GPU_MEMORY_SHARE`
    of its memory, up to :data:`GPU_MAX_BATCH`."""
    if device is None or device.kind != "gpu":
        return default_batch(input_size)
    fits = int((device.memory_bytes or GPU_MEMORY_ASSUMED) * GPU_MEMORY_SHARE // max(1, image_bytes))
    return max(1, min(GPU_MAX_BATCH, 1 << max(0, fits.bit_length() - 1)))


def _batch_spec(batch: int, size: int) -> tuple[tf.TensorSpec, tf.TensorSpec]:
    return tf.TensorSpec([batch, size, size, 3], tf.float32), tf.TensorSpec([batch, size, size], tf.uint8)


def _confusion_fn(model: tf_keras.Model, classes: int, batch: int, size: int):
    @tf.function(input_signature=_batch_spec(batch, size), reduce_retracing=True)
    def confusion(images, labels):
        return confusion_counts(model(images, training=False), labels, classes)

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


def confusion_matrix(model: tf_keras.Model, images: np.ndarray, labels: np.ndarray, classes: int,
                     batch: int = 8) -> ConfusionMatrix:
    """Accumulated confusion matrix of ``model`` over ``images`` (ignore label excluded)."""
    batch = min(batch, len(images))
    fn = _confusion_fn(model, classes, batch, images.shape[1])
    return _accumulate(fn, batches(images, labels, batch), classes)


def _accumulate(fn: Callable, feed: Iterable[tuple], classes: int, *extra) -> ConfusionMatrix:
    counts = np.zeros(classes * classes, np.int64)
    for x, y in feed:
        counts += fn(x, y, *extra).numpy()
    cm = ConfusionMatrix(classes)
    cm.matrix[:] = counts.reshape(classes, classes)
    return cm


class SubsetEvaluator:
    """Scores candidates of one supernet on one fixed validation subset.

    Args:
        supernet: the in-memory supernet (weights source).
        images: preprocessed float32 (N, S, S, 3) subset, S = the supernet's input size.
        labels: uint8 (N, S, S), 255 = ignore.
        batch: forward-pass batch size (default: :func:`device_batch` for the device).
        device: where TensorFlow runs (:func:`~fmas_hw.model.device.use_device`); on a GPU the
            subset is copied to its memory once, so no forward pass waits for the host.
    """

    def __init__(self, supernet: Supernet, images: np.ndarray, labels: np.ndarray, batch: int | None = None,
                 device: ComputeDevice | None = None):
        self.supernet, self.images, self.labels, self.device = supernet, images, labels, device
        self.batch = min(batch or device_batch(images.shape[1], device, activation_bytes(supernet.model)),
                         len(images))
        self._staged: list[tuple] | None = None
        self._switchable: tuple[SwitchableSupernet, Callable] | None = None
        self._per_image: Callable | None = None
        self._lock = threading.Lock()

    def _search_space_fn(self) -> tuple[SwitchableSupernet, Callable]:
        """The search space as one traced confusion function (traced and warmed on first use)."""
        with self._lock:
            if self._switchable is None:
                net, classes = SwitchableSupernet(self.supernet), self.supernet.classes
                spec = (*_batch_spec(self.batch, self.images.shape[1]), tf.TensorSpec([len(net.keys)], tf.int32))
                fn = tf.function(lambda x, y, c: confusion_counts(net.logits(x, c), y, classes),
                                 input_signature=spec, autograph=False)
                x, y = next(batches(self.images, self.labels, self.batch))
                fn(x, y, net.controls(net.supernet_arch))  # trace and optimise the graph once
                self._switchable = (net, fn)
            return self._switchable

    def per_image_counts(self, arch: Arch) -> np.ndarray:
        """(N, K, K) int64 confusion counts of ``arch``, one matrix per image in file order.

        The counts of any leading fraction of the images sum to that fraction's confusion
        matrix, so one pass serves every fraction (``eval.proxy_study``).

        Raises:
            ArchitectureError: ``arch`` is outside the search space.
        """
        net, _ = self._search_space_fn()
        with self._lock:
            if self._per_image is None:
                classes = self.supernet.classes
                spec = (*_batch_spec(self.batch, self.images.shape[1]), tf.TensorSpec([len(net.keys)], tf.int32))
                self._per_image = tf.function(
                    lambda x, y, c: per_image_confusion_counts(net.logits(x, c), y, classes),
                    input_signature=spec, autograph=False)
        controls = net.controls(arch)
        rows = [self._per_image(x, y, controls).numpy() for x, y in self._batches()]
        k = self.supernet.classes
        return np.concatenate(rows)[: len(self.images)].astype(np.int64).reshape(-1, k, k)

    def _batches(self) -> Iterable[tuple]:
        """The subset's fixed-shape batches: on a GPU, tensors put in its memory on first use."""
        if self.device is None or self.device.kind != "gpu":
            return batches(self.images, self.labels, self.batch)
        with self._lock:
            if self._staged is None:
                with tf.device("/GPU:0"):
                    self._staged = [(tf.identity(x), tf.identity(y))
                                    for x, y in batches(self.images, self.labels, self.batch)]
        return self._staged

    def evaluate(self, arch: Arch, model: tf_keras.Model | None = None) -> Evaluation:
        """Error (1 - mIoU) of ``arch`` on the subset, with timings.

        Args:
            arch: the candidate.
            model: evaluate this Keras model instead (e.g. the GAP8-adapted candidate).
        """
        t0 = time.perf_counter()
        fn, extra = self._runner(arch, model)
        t1 = time.perf_counter()
        cm = _accumulate(fn, self._batches(), self.supernet.classes, *extra)
        t2 = time.perf_counter()
        miou = cm.miou()
        return Evaluation(1.0 - miou, miou, len(self.images), t2 - t0, t1 - t0, t2 - t1)

    def _runner(self, arch: Arch, model: tf_keras.Model | None) -> tuple[Callable, tuple]:
        if model is None:
            try:
                net, fn = self._search_space_fn()
                return fn, (net.controls(arch),)
            except ArchitectureError:  # a hand-made architecture outside the search space
                model = self.supernet.subnet(arch)
        size = self.images.shape[1]
        return _confusion_fn(model, self.supernet.classes, self.batch, size), ()


def evaluate(arch: Arch, supernet: Supernet, data, fraction: float = 0.2, batch: int | None = None,
             device: ComputeDevice | None = None) -> Evaluation:
    """Evaluate ``arch`` on the first ``fraction`` of ``data``'s ``val.txt`` (file order).

    Args:
        arch: the candidate.
        supernet: the in-memory supernet providing the weights.
        data: a :class:`~fmas_hw.data.voc.VocDataset` or a path to a VOC-format data set.
        fraction: leading fraction of the validation list (0.2 during search, 1.0 at the end).
        batch: batch size of the forward passes (default: :func:`device_batch`).
        device: where TensorFlow runs (:func:`~fmas_hw.model.device.use_device`).

    Raises:
        DataError: unreadable or inconsistent data files.
    """
    from ..data.cache import load_split_arrays
    from ..data.voc import VocDataset

    dataset = data if isinstance(data, VocDataset) else VocDataset(data, num_classes=supernet.classes)
    images, labels = load_split_arrays(dataset, "val", supernet.input_size, fraction, backbone=supernet.backbone)
    return SubsetEvaluator(supernet, images, labels, batch, device).evaluate(arch)
