"""The whole search space of a supernet as ONE traced function: candidates cost their forward passes.

:class:`SwitchableSupernet` runs :mod:`.netdef`'s network definition with TensorFlow ops. Every
architecture choice (keep a block, its stride, its atrous rate) is a ``tf.switch_case`` on an
int32 control vector that is an *input* of the traced function, so the function is traced once per
batch shape and then serves every candidate: selecting a candidate is filling a small vector
(microseconds) instead of building a Keras model (1.5-5 s) and tracing it (~1 s).

Weights are the supernet's, read from the in-memory Keras model once and folded with their
BatchNormalization (``W * gamma / sqrt(var + eps)``, bias ``beta - mean * gamma / sqrt(var + eps)``):
inference then runs one fused op per convolution, as a deployment does. Folding reorders float
rounding only; tests check the logits equal the Keras sub-network's. The folded copy is a snapshot:
make a new instance after changing the supernet's weights (e.g. after training it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras

from ..errors import WeightsError
from ..space import Arch
from . import netdef
from .supernet import Supernet


class _TensorOps:
    """:class:`netdef.Ops` on TensorFlow tensors, choices read from a control tensor."""

    def __init__(self, weights: _FoldedWeights, controls: tf.Tensor, slots: dict[str, int]):
        self.weights, self.controls, self.slots = weights, controls, slots

    def conv(self, x, name, filters, kernel=1, stride=1, padding="same", norm=True, bias=False):
        w, b = self.weights.conv(name, norm)
        if tuple(w.shape) != (kernel, kernel, x.shape[-1], filters):
            raise WeightsError(f"supernet layer '{name}' has kernel {tuple(w.shape)}, the network needs "
                               f"{(kernel, kernel, x.shape[-1], filters)}")
        y = tf.nn.conv2d(x, w, stride, padding.upper())
        return y if b is None else tf.nn.bias_add(y, b)

    def depthwise(self, x, name, stride=1, rate=1, padding="same"):
        w, b = self.weights.conv(name, True)
        # As the Keras builder: TF refuses stride > 1 with rate > 1, so run dense and subsample.
        dense = stride if rate == 1 else 1
        y = tf.nn.depthwise_conv2d(x, w, [1, dense, dense, 1], padding.upper(), dilations=[rate, rate])
        if dense != stride:
            y = y[:, ::stride, ::stride, :]
        return tf.nn.bias_add(y, b)

    def relu(self, x, name, cap=None):
        if cap is None:
            return tf.nn.relu(x)
        return tf.nn.relu6(x) if cap == 6.0 else tf.minimum(tf.nn.relu(x), cap)

    def pad(self, x, name, amount):
        return tf.pad(x, [[0, 0], [amount, amount], [amount, amount], [0, 0]])

    def add(self, a, b, name):
        return a + b

    def concat(self, xs, name):
        return tf.concat(xs, axis=-1)

    def global_pool(self, x, name):
        return tf.reduce_mean(x, axis=[1, 2], keepdims=True)

    def resize(self, x, name, size):
        return tf.compat.v1.image.resize_bilinear(x, size, align_corners=True)

    def size_of(self, x):
        return tf.shape(x)[1:3]

    def channels(self, x) -> int:
        return int(x.shape[-1])

    def choose(self, key: str, x, variants: Sequence, fn: Callable):
        branches = [lambda v=v: fn(x, v) for v in variants]
        return tf.switch_case(self.controls[self.slots[key]], branches, name=key.replace(".", "_"))


_CONVS = (tf_keras.layers.Conv2D, tf_keras.layers.DepthwiseConv2D)


class _FoldedWeights:
    """Conv kernels of the supernet with their BatchNormalization folded in, by layer name.

    Folded eagerly for every convolution at construction (a traced function cannot read a
    variable's value), in float64 before rounding to float32.
    """

    def __init__(self, model: tf_keras.Model):
        names = {layer.name for layer in model.layers}
        self._folded = {layer.name: _fold(layer, model.get_layer(f"{layer.name}_BN") if f"{layer.name}_BN" in names
                                          else None)
                        for layer in model.layers if isinstance(layer, _CONVS)}

    def conv(self, name: str, norm: bool) -> tuple[tf.Tensor, tf.Tensor | None]:
        if name not in self._folded:
            raise WeightsError(f"the supernet has no convolution '{name}'")
        kernel, bias, folded = self._folded[name]
        if folded != norm:
            raise WeightsError(f"supernet layer '{name}' {'has' if folded else 'lacks'} a BatchNormalization "
                               "the network definition does not expect")
        return kernel, bias


def _fold(layer, bn) -> tuple[tf.Tensor, tf.Tensor | None, bool]:
    depthwise = isinstance(layer, tf_keras.layers.DepthwiseConv2D)
    kernel = (layer.depthwise_kernel if depthwise else layer.kernel).numpy().astype(np.float64)
    bias = layer.bias.numpy().astype(np.float64) if layer.use_bias else None
    if bn is not None:
        scale = bn.gamma.numpy() / np.sqrt(bn.moving_variance.numpy().astype(np.float64) + bn.epsilon)
        shift = bn.beta.numpy() - bn.moving_mean.numpy() * scale
        kernel = kernel * (scale[:, None] if depthwise else scale)
        bias = shift if bias is None else bias * scale + shift
    as_tensor = lambda a: None if a is None else tf.constant(a.astype(np.float32))  # noqa: E731
    return as_tensor(kernel), as_tensor(bias), bn is not None


class SwitchableSupernet:
    """Every candidate of ``supernet``'s search space behind one traced forward function.

    Args:
        supernet: the in-memory supernet whose weights every candidate uses.

    Example:
        >>> net = SwitchableSupernet(supernet)
        >>> logits = net.forward(images, net.controls(arch))
    """

    def __init__(self, supernet: Supernet):
        self.supernet = supernet
        self.network = netdef.NETWORKS[supernet.backbone]
        self.supernet_arch = _supernet_arch(supernet.backbone)
        self.keys = sorted(netdef.choices(self.supernet_arch))
        self.slots = {key: i for i, key in enumerate(self.keys)}
        self.weights = _FoldedWeights(supernet.model)
        # Traced on the first call, then once per new batch shape.
        self._forward = tf.function(self.logits, reduce_retracing=True, autograph=False)

    def controls(self, arch: Arch) -> np.ndarray:
        """The control vector selecting ``arch`` (variant index per choice; 0 where unused).

        Raises:
            ArchitectureError: ``arch`` is not of this supernet's search space.
        """
        if arch.backbone != self.supernet.backbone:
            raise WeightsError(f"a {arch.backbone} candidate cannot run on a {self.supernet.backbone} supernet")
        vector = np.zeros(len(self.keys), np.int32)
        for key, index in netdef.choices(arch).items():
            vector[self.slots[key]] = index
        return vector

    def logits(self, images: tf.Tensor, controls: tf.Tensor) -> tf.Tensor:
        """Logits of the candidate selected by ``controls`` (call inside a tf.function)."""
        ops = _TensorOps(self.weights, controls, self.slots)
        s = self.supernet
        return self.network(ops, images, s.classes, int(images.shape[1]), s.alpha)

    def forward(self, images, controls) -> tf.Tensor:
        """Logits of a batch (traced once per batch shape)."""
        return self._forward(tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(controls, tf.int32))


def _supernet_arch(backbone: str) -> Arch:
    from ..space import get_space

    return get_space(backbone).supernet()
