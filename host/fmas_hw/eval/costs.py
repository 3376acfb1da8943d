"""Cost measures of a candidate: parameter count and FLOPs.

FLOPs are counted the way SPEC §2.1 defines them: TensorFlow's profiler ``float_ops`` of the
frozen inference graph at batch 1 (the keras-flops method: ~2 x MACs plus the small element-wise
ops). The profiler is the source of truth; results are cached per (architecture, size, classes,
width) because the count depends on nothing else.

BatchNormalization is traced un-fused (``x * scale + shift``, two float ops per element), as in
the graphs the paper's reference figures were counted on: the profiler registers no cost for the
fused ``FusedBatchNormV3`` kernel, and counting it fused lands ~1 % low on every reference
(MobileNetV2 9.64 instead of 9.73 GFLOPs; the difference is exactly 2 x the BN output elements).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2_as_graph,
)

from ..space import Arch

log = logging.getLogger(__name__)


def count_params(model: tf.keras.Model) -> int:
    """Number of parameters (trainable and not, e.g. BN statistics), as Keras counts them."""
    return int(model.count_params())


def profiler_flops(model: tf.keras.Model) -> int:
    """FLOPs of one batch-1 inference of ``model`` per TensorFlow's profiler (``float_ops``).

    Args:
        model: a Keras model with a single fully specified input (except the batch dimension).

    Returns:
        The profiler's total float operations of the frozen graph.
    """
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
def _unfused_batch_norm(model: tf.keras.Model):
    """Temporarily make every BatchNormalization layer trace as separate Mul/Add ops."""
    bns = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    saved = [bn.fused for bn in bns]
    for bn in bns:
        bn.fused = False
    try:
        yield
    finally:
        for bn, fused in zip(bns, saved):
            bn.fused = fused


@lru_cache(maxsize=4096)
def _cached_costs(arch: Arch, input_size: int, classes: int, alpha: float) -> tuple[int, int]:
    from ..model.builder import build_model

    model = build_model(arch, input_size, classes, alpha)
    return count_params(model), profiler_flops(model)


def arch_costs(arch: Arch, input_size: int, classes: int = 21, alpha: float = 1.0) -> dict[str, int]:
    """Parameters and FLOPs of ``arch`` at ``input_size`` (cached).

    Returns:
        ``{"params": int, "flops": int}``.
    """
    params, flops = _cached_costs(arch, int(input_size), int(classes), float(alpha))
    return {"params": params, "flops": flops}
