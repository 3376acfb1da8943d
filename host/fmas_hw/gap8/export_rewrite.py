"""Conversion-only rewrite of a Keras candidate so the TFLite/ONNX converters keep its dilations.

What the TensorFlow 2.15 converter emits for the builders' graphs, and what this module does
about it (the exporters, :mod:`.tflite_export` and :mod:`.onnx_export`, convert the clone that
:func:`prepare_for_export` returns):

* **Dilated convolutions.** Keras' ``DepthwiseConv2D(dilation_rate=d)`` calls
  ``tf.nn.depthwise_conv2d``, which implements atrous convolution with ``with_space_to_batch``
  (dilated ``Conv2D``, as in the Xception builder, is traced the same way); the TFLite converter
  keeps that as ``SPACE_TO_BATCH_ND -> DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND`` (its
  dilated-convolution fusion does not fire on these graphs) and, because the BatchNormalization
  (or bias) now follows ``BATCH_TO_SPACE_ND``, leaves it unfolded as ``MUL`` + ``ADD``.
  The 64x64, alpha 0.35 MobileNetV2 supernet converts to 10 ``SPACE_TO_BATCH_ND``, 10
  ``BATCH_TO_SPACE_ND`` and 10 unfused ``MUL``. NNTool up to gap_sdk 4.13 had no handler for
  either space/batch op; the pinned 4.22 has both (``importer/tflite2/handlers/backend/
  space_to_batch.py``, ``batch_to_space.py``, and a ``fuse_dilation`` matcher meant to fold the
  pattern back), but its importer still refuses the convolution in between, which runs on a
  batch of block**2 tiles ("multi batch (n=4) operations are not supported", measured with
  4.22 in ``tests/gap8/test_nntool.py``); and the batch norm left behind ``BATCH_TO_SPACE_ND``
  would be an extra ``MUL`` + ``ADD`` kernel that the project's own AutoTiler model (one call per
  fused layer) does not have. NNTool's ``DEPTHWISE_CONV_2D`` / ``CONV_2D`` handlers read
  ``dilation_h/w_factor`` into the AutoTiler's ``Dcx/Dcy``. Fix (:func:`prepare_for_export`): a conversion-only clone in which every dilated depthwise
  layer calls ``tf.raw_ops.DepthwiseConv2dNative(dilations=[1, d, d, 1])`` directly (dilated
  ``Conv2D``: ``tf.raw_ops.Conv2D``); the converter then emits one ``DEPTHWISE_CONV_2D`` /
  ``CONV_2D`` with the dilation factors, folds the BatchNormalization and fuses the ReLU6.
  TF's CPU kernel of ``DepthwiseConv2dNative`` does not implement dilations, so the clone is only
  ever traced (converted), never run eagerly; its float TFLite matches the Keras model to ~1e-5.
* **Stride with dilation.** Keras refuses both on one layer, so the builders run the dilated
  depthwise densely and keep every s-th pixel (``Subsample2D``, a ``STRIDED_SLICE``), which also
  blocks the BatchNormalization fold. The clone folds the pair into ``PAD`` +
  ``DEPTHWISE_CONV_2D(VALID, stride s, dilation d)``: exactly ``x[:, ::s, ::s]`` of the dense
  SAME convolution, and what GAP8 should compute (only the kept outputs).
* **ONNX.** tf2onnx already rewrites the space/batch pattern into a dilated ``Conv``; the same
  clone is exported so both files describe the same graph.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import tensorflow as tf
import tf_keras

from ..errors import ExportError
from ..model.layers import Subsample2D

keras = tf_keras
layers = tf_keras.layers


# -- the native-dilation layers ------------------------------------------------------------------

class _NativeDilation:
    """Mixin: run a convolution on the native TF op so the converter keeps its dilation.

    For conversion only: TF's CPU kernel of ``DepthwiseConv2dNative`` rejects dilations, but the
    TFLite converter lowers the native ops to ``CONV_2D`` / ``DEPTHWISE_CONV_2D`` with
    ``dilation_*_factor``.

    Args:
        subsample: stride folded in from a following :class:`Subsample2D` (1: none). The layer
            then pads explicitly as the dense convolution did and runs VALID with that stride,
            which selects exactly the pixels ``x[:, ::s, ::s]`` of the dense output.
    """

    # Provided by the Keras convolution this mixin is combined with.
    padding: str
    kernel_size: tuple[int, int]
    dilation_rate: tuple[int, int]
    strides: tuple[int, int]
    use_bias: bool
    bias: Any
    activation: Any

    def __init__(self, *args, subsample: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.subsample = int(subsample)

    def _dense_padding(self) -> list[list[int]]:
        """Explicit (begin, end) padding of the stride-1 convolution this layer replaces."""
        if self.padding == "valid":
            return [[0, 0]] * 4
        pads = []
        for kernel, rate in zip(self.kernel_size, self.dilation_rate, strict=True):
            total = (kernel - 1) * rate  # SAME at stride 1 keeps the size
            pads.append([total // 2, total - total // 2])
        return [[0, 0], *pads, [0, 0]]

    def _native(self, x, strides: list[int], padding: str, dilations: list[int]):
        raise NotImplementedError

    def call(self, inputs):
        x, strides, padding = inputs, self.strides, self.padding.upper()
        if self.subsample > 1:
            x = tf.pad(x, self._dense_padding())
            strides, padding = (self.subsample, self.subsample), "VALID"
        y = self._native(x, [1, *strides, 1], padding, [1, *self.dilation_rate, 1])
        if self.use_bias:
            y = tf.nn.bias_add(y, self.bias)
        return self.activation(y) if self.activation is not None else y

    def get_config(self):
        # get_config comes from the Keras convolution mixed in after this class.
        return {**super().get_config(), "subsample": self.subsample}  # type: ignore[misc]


class NativeDilatedDepthwiseConv2D(_NativeDilation, tf_keras.layers.DepthwiseConv2D):
    """``DepthwiseConv2D`` on ``DepthwiseConv2dNative(dilations=...)`` (see :class:`_NativeDilation`)."""

    def _native(self, x, strides, padding, dilations):
        return tf.raw_ops.DepthwiseConv2dNative(input=x, filter=self.depthwise_kernel, strides=strides,
                                                padding=padding, dilations=dilations)


class NativeDilatedConv2D(_NativeDilation, tf_keras.layers.Conv2D):
    """``Conv2D`` on ``Conv2D(dilations=...)`` (see :class:`_NativeDilation`)."""

    def _native(self, x, strides, padding, dilations):
        return tf.raw_ops.Conv2D(input=x, filter=self.kernel, strides=strides, padding=padding,
                                 dilations=dilations)


#: Keras layer type -> its conversion-only replacement (exact types: Conv2DTranspose and
#: SeparableConv2D subclass these but lower differently).
NATIVE: dict[type, Any] = {layers.DepthwiseConv2D: NativeDilatedDepthwiseConv2D, layers.Conv2D: NativeDilatedConv2D}


# -- the rewrite ---------------------------------------------------------------------------------

def _inbound_names(nodes) -> list[str]:
    """Layer names in a serialised ``inbound_nodes`` entry (nesting differs between layer kinds)."""
    if isinstance(nodes, list | tuple):
        if len(nodes) >= 3 and isinstance(nodes[0], str) and isinstance(nodes[1], int):
            return [nodes[0]]
        return [name for item in nodes for name in _inbound_names(item)]
    return []


def _producers(model: tf_keras.Model) -> dict[str, list[str]]:
    """Layer name -> names of the layers feeding it, read from this model's own config."""
    try:
        config = model.get_config()
    except NotImplementedError:  # subclassed model: prepare_for_export reports it
        return {}
    if "layers" not in config or not all("inbound_nodes" in c for c in config["layers"]):
        return {}  # Sequential: no subsample folding (the builders never make one)
    return {c["name"]: _inbound_names(c["inbound_nodes"]) for c in config["layers"]}


def _rewritable(layer) -> bool:
    """A plain channels-last 2D convolution (no groups) that the native ops can express."""
    return (type(layer) in NATIVE and layer.data_format == "channels_last"
            and getattr(layer, "groups", 1) == 1)


def _is_dilated(layer) -> bool:
    return _rewritable(layer) and tuple(layer.dilation_rate) != (1, 1)


def _subsample_folds(model: tf_keras.Model) -> dict[str, str]:
    """Convolution -> the Subsample2D it can absorb (its only consumer, a stride-1 convolution)."""
    producers = _producers(model)
    consumers = Counter(p for inputs in producers.values() for p in inputs)
    folds = {}
    for layer in model.layers:
        if not isinstance(layer, Subsample2D) or len(producers.get(layer.name, [])) != 1:
            continue
        source = model.get_layer(producers[layer.name][0])
        if _rewritable(source) and tuple(source.strides) == (1, 1) and consumers[source.name] == 1:
            folds[source.name] = layer.name
    return folds


def _replacements(model: tf_keras.Model) -> dict[str, Callable[[], tf_keras.layers.Layer]]:
    """Layer name -> factory of the layer that replaces it in the conversion clone."""
    folds = _subsample_folds(model)
    out: dict[str, Callable[[], tf_keras.layers.Layer]] = {}
    for layer in model.layers:
        if layer.name in folds:
            stride = model.get_layer(folds[layer.name]).stride
            config = {**layer.get_config(), "subsample": stride}
            out[layer.name] = partial(NATIVE[type(layer)].from_config, config)
            # the Subsample2D becomes a no-op layer of the same name
            out[folds[layer.name]] = partial(layers.Activation, "linear", name=folds[layer.name])
        elif _is_dilated(layer):
            out[layer.name] = partial(NATIVE[type(layer)].from_config, layer.get_config())
    return out


def prepare_for_export(model: tf_keras.Model) -> tf_keras.Model:
    """The conversion-only clone of ``model`` whose dilated convolutions keep their dilation.

    Every dilated ``DepthwiseConv2D`` / ``Conv2D`` becomes a :class:`NativeDilatedDepthwiseConv2D`
    / :class:`NativeDilatedConv2D` (same name, same weights), and a ``Subsample2D`` that is the
    only consumer of a stride-1 convolution is folded into it as a stride. Layers nested inside sub-models are not rewritten
    (their dilations stay lowered to ``SPACE_TO_BATCH_ND`` / ``BATCH_TO_SPACE_ND`` in the converted
    file). Returns ``model`` itself when nothing needs rewriting.

    Args:
        model: a functional (or Sequential) Keras model.

    Returns:
        A model with the same outputs in float, to be converted, never run eagerly (see the
        module docstring).

    Raises:
        ExportError: the model cannot be cloned (e.g. a subclassed model).
    """
    factories = _replacements(model)
    if not factories:
        return model

    def clone_layer(layer):
        if layer.name in factories:
            return factories[layer.name]()
        return layer.__class__.from_config(layer.get_config())

    try:
        clone = keras.models.clone_model(model, clone_function=clone_layer)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise ExportError(
            f"cannot rewrite model '{model.name}' for export ({exc}): export needs a functional "
            "Keras model such as those fmas_hw.model.build_model and fmas_hw.gap8.adapt build"
        ) from exc
    for layer in clone.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return clone
