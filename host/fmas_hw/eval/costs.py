"""Cost measures of a candidate: parameter count and FLOPs.

FLOPs are counted the way SPEC §2.1 defines them: TensorFlow's profiler ``float_ops`` of the
frozen inference graph at batch 1 (the keras-flops method: ~2 x MACs plus the small element-wise
ops). The profiler is the source of truth; results are cached per (architecture, size, classes,
width) because the count depends on nothing else.

BatchNormalization is traced un-fused (``x * scale + shift``, two float ops per element), as in
the graphs the paper's reference figures were counted on: the profiler registers no cost for the
fused ``FusedBatchNormV3`` kernel, and counting it fused lands ~1 % low on every reference
(MobileNetV2 9.64 instead of 9.73 GFLOPs; the difference is exactly 2 x the BN output elements).

TensorFlow is imported only by the functions that take a Keras model: :func:`arch_costs` of an
architecture of the search spaces counts without it (:mod:`.counting`), so a command that only
counts (``fmas-hw arch``) starts in a fraction of a second.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..space import Arch

if TYPE_CHECKING:
    import tf_keras

log = logging.getLogger(__name__)


def count_params(model: tf_keras.Model) -> int:
    """Number of parameters (trainable and not, e.g. BN statistics), as Keras counts them."""
    return int(model.count_params())


def profiler_flops(model: tf_keras.Model) -> int:
    """FLOPs of one batch-1 inference of ``model`` per TensorFlow's profiler (``float_ops``).

    Args:
        model: a Keras model with a single fully specified input (except the batch dimension).

    Returns:
        The profiler's total float operations of the frozen graph.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2_as_graph,
    )

    spec = tf.TensorSpec([1, *model.inputs[0].shape[1:]], model.inputs[0].dtype)
    with _unfused_batch_norm(model):
        concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
        frozen, _ = convert_variables_to_constants_v2_as_graph(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    info = tf.compat.v1.profiler.profile(
        graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options)
    return int(info.total_float_ops)


@contextmanager
def _unfused_batch_norm(model: tf_keras.Model):
    """Temporarily make every BatchNormalization layer trace as separate Mul/Add ops."""
    import tf_keras

    bns = [layer for layer in model.layers if isinstance(layer, tf_keras.layers.BatchNormalization)]
    saved = [bn.fused for bn in bns]
    for bn in bns:
        bn.fused = False
    try:
        yield
    finally:
        for bn, fused in zip(bns, saved, strict=False):
            bn.fused = fused


def _elements(shape) -> int:
    return int(np.prod([int(d) for d in shape[1:]]))


def _depthwise_flops(layer) -> int:
    kh, kw = layer.kernel_size
    rate = layer.dilation_rate[0]
    if rate == 1:
        return 2 * kh * kw * _elements(layer.output_shape)
    # TF runs a dilated depthwise conv as SpaceToBatch -> DepthwiseConv2dNative -> BatchToSpace; the
    # profiler counts the inner op, whose output covers ceil(H/r) x ceil(W/r) x r^2 positions.
    _, h, w, c = layer.input_shape
    return 2 * kh * kw * rate * rate * -(-h // rate) * -(-w // rate) * c


def _layer_flops(layer) -> int | None:
    """The profiler's count for one Keras layer, or None for a layer kind not modelled here."""
    import tf_keras

    from ..model.layers import BilinearResize, Subsample2D

    L = tf_keras.layers
    if isinstance(layer, L.DepthwiseConv2D):
        return _depthwise_flops(layer)
    if isinstance(layer, L.Conv2D):
        if layer.dilation_rate != (1, 1):
            return None
        kh, kw = layer.kernel_size
        out = _elements(layer.output_shape)
        return 2 * kh * kw * int(layer.input_shape[-1]) * out + (out if layer.use_bias else 0)
    if isinstance(layer, L.BatchNormalization):
        # Un-fused inference BN: x * inv + shift on every element (Mul, AddV2) and, per channel,
        # var + eps (AddV2), rsqrt (2 ops), inv * gamma (Mul), mean * inv (Mul), beta - . (Sub).
        return 2 * _elements(layer.output_shape) + 6 * int(layer.output_shape[-1])
    if isinstance(layer, L.Add):
        return _elements(layer.output_shape) * (len(layer.input_shape) - 1)
    if isinstance(layer, L.GlobalAveragePooling2D):
        return _elements(layer.input_shape)
    zero = (L.InputLayer, L.ReLU, L.Concatenate, L.Dropout, L.ZeroPadding2D, BilinearResize, Subsample2D)
    return 0 if isinstance(layer, zero) else None


def analytic_flops(model: tf_keras.Model) -> int | None:
    """The profiler's ``float_ops`` computed from layer shapes, in microseconds instead of seconds.

    It applies TensorFlow's flops registry rules layer by layer (tests check it equals
    :func:`profiler_flops` on every kind of candidate). Returns None when the model holds a layer
    kind it does not model, so callers fall back to the profiler.
    """
    total = 0
    for layer in model.layers:
        flops = _layer_flops(layer)
        if flops is None:
            return None
        total += flops
    return total


def model_flops(model: tf_keras.Model) -> int:
    """FLOPs of ``model``: the analytic count when it applies, else TensorFlow's profiler."""
    flops = analytic_flops(model)
    return profiler_flops(model) if flops is None else flops


@lru_cache(maxsize=4096)
def _cached_costs(arch: Arch, input_size: int, classes: int, alpha: float) -> tuple[int, int]:
    from ..errors import ArchitectureError
    from .counting import count_costs

    try:
        costs = count_costs(arch, input_size, classes, alpha)
        return costs["params"], costs["flops"]
    except ArchitectureError:  # outside the search space: count the built Keras model
        from ..model.builder import build_model

        model = build_model(arch, input_size, classes, alpha)
        return count_params(model), model_flops(model)


def arch_costs(arch: Arch, input_size: int, classes: int = 21, alpha: float = 1.0) -> dict[str, int]:
    """Parameters and FLOPs of ``arch`` at ``input_size`` (cached; no Keras model is built for
    architectures of the search spaces, see :mod:`fmas_hw.eval.counting`).

    Returns:
        ``{"params": int, "flops": int}``.
    """
    params, flops = _cached_costs(arch, int(input_size), int(classes), float(alpha))
    return {"params": params, "flops": flops}
