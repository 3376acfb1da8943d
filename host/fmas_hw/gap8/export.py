"""Int8 TFLite and ONNX export of a Keras candidate, the files GAP8's NNTool reads (SPEC §6.2).

What the TensorFlow 2.15 converter emits, and what this module does about it:

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
* **I/O type.** The TFLite file has int8 input and output (``inference_input_type`` /
  ``inference_output_type``): the graph is integer end to end, so NNTool (opened with ``-q``)
  needs no float ``QUANTIZE`` / ``DEQUANTIZE`` nodes; for images in [-1, 1] the input scale is
  ~1/127.5, close to the ``u8 - 128`` of NNTool's ``imageformat ... offset_int8``.
  :func:`tflite_predict` applies the input/output scale and zero-point on the host.
* **ONNX.** tf2onnx already rewrites the space/batch pattern into a dilated ``Conv``; the same
  clone is exported so both files describe the same graph. The ONNX file is float and is shipped
  for other tools (viewers, ONNX runtimes), **not as an NNTool input**: NNTool 4.22 cannot import
  it (it fails to fold the image-pooling branch's batch norm, "rank is 4", on tf2onnx's graph),
  and the nntool route needs the int8 TFLite anyway -- opened with ``-q``, NNTool keeps the
  converter's calibrated int8 quantisation, where an ONNX would need NNTool's own calibration.
  ``tests/gap8/test_nntool.py`` checks both facts with the real NNTool.

Only the int8 TFLite reaches NNTool (:func:`assert_no_space_to_batch` guards that route).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from ..errors import ExportError
from ..model.layers import Subsample2D

keras = tf.keras
layers = tf.keras.layers

#: TFLite ops TF emits for dilated convolutions; the export folds them (see the module doc).
SPACE_BATCH_OPS = ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")


# -- conversion-only rewrite ---------------------------------------------------------------------

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


class NativeDilatedDepthwiseConv2D(_NativeDilation, tf.keras.layers.DepthwiseConv2D):
    """``DepthwiseConv2D`` on ``DepthwiseConv2dNative(dilations=...)`` (see :class:`_NativeDilation`)."""

    def _native(self, x, strides, padding, dilations):
        return tf.raw_ops.DepthwiseConv2dNative(input=x, filter=self.depthwise_kernel, strides=strides,
                                                padding=padding, dilations=dilations)


class NativeDilatedConv2D(_NativeDilation, tf.keras.layers.Conv2D):
    """``Conv2D`` on ``Conv2D(dilations=...)`` (see :class:`_NativeDilation`)."""

    def _native(self, x, strides, padding, dilations):
        return tf.raw_ops.Conv2D(input=x, filter=self.kernel, strides=strides, padding=padding,
                                 dilations=dilations)


#: Keras layer type -> its conversion-only replacement (exact types: Conv2DTranspose and
#: SeparableConv2D subclass these but lower differently).
NATIVE: dict[type, Any] = {layers.DepthwiseConv2D: NativeDilatedDepthwiseConv2D, layers.Conv2D: NativeDilatedConv2D}


def _inbound_names(nodes) -> list[str]:
    """Layer names in a serialised ``inbound_nodes`` entry (nesting differs between layer kinds)."""
    if isinstance(nodes, list | tuple):
        if len(nodes) >= 3 and isinstance(nodes[0], str) and isinstance(nodes[1], int):
            return [nodes[0]]
        return [name for item in nodes for name in _inbound_names(item)]
    return []


def _producers(model: tf.keras.Model) -> dict[str, list[str]]:
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


def _subsample_folds(model: tf.keras.Model) -> dict[str, str]:
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


def _replacements(model: tf.keras.Model) -> dict[str, Callable[[], tf.keras.layers.Layer]]:
    """Layer name -> factory of the layer that replaces it in the conversion clone."""
    folds = _subsample_folds(model)
    out: dict[str, Callable[[], tf.keras.layers.Layer]] = {}
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


def prepare_for_export(model: tf.keras.Model) -> tf.keras.Model:
    """The conversion-only clone of ``model`` whose dilated convolutions keep their dilation.

    Every dilated ``DepthwiseConv2D`` / ``Conv2D`` becomes a :class:`NativeDilatedDepthwiseConv2D`
    / :class:`NativeDilatedConv2D` (same name, same weights), and a ``Subsample2D`` that is the
    only consumer of a stride-1 convolution is folded into it as a stride. Layers nested inside sub-models are not rewritten
    (:func:`assert_no_space_to_batch` reports what is left). Returns ``model`` itself when
    nothing needs rewriting.

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


# -- input checks --------------------------------------------------------------------------------

def _input_shape(model: tf.keras.Model) -> tuple[int, ...]:
    """The (H, W, C) input shape of a single-input model."""
    if len(model.inputs) != 1:
        raise ExportError(f"model '{model.name}' has {len(model.inputs)} inputs: export needs one image input")
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3 or None in shape:
        raise ExportError(f"model '{model.name}' input shape {shape} is not a fixed (H, W, C): "
                          "build the model with a fixed input size")
    return tuple(int(d) for d in shape)


def _check_images(images, expected: tuple[int, ...], what: str) -> np.ndarray:
    """Validate a batch of preprocessed images against an (H, W, C) input shape.

    Raises:
        ExportError: not a non-empty float (N, H, W, C) array of finite values of that shape.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[0] == 0:
        raise ExportError(f"{what}: expected a non-empty (N, H, W, C) array, got shape {array.shape}; "
                          "pass at least one preprocessed image")
    if not np.issubdtype(array.dtype, np.floating):
        raise ExportError(f"{what}: expected float images preprocessed to the model's range "
                          f"([-1, 1] for the DeepLab builders), got dtype {array.dtype}")
    if tuple(array.shape[1:]) != tuple(expected):
        raise ExportError(f"{what}: images are {tuple(array.shape[1:])}, the model expects {tuple(expected)}; "
                          "resize them (or build the model at that input size)")
    if not np.isfinite(array).all():
        raise ExportError(f"{what}: images contain NaN or infinite values")
    return array.astype(np.float32, copy=False)


def _summary(exc: BaseException) -> str:
    """``Type: first line`` of an exception (converter messages run to pages)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _existing(path: str | Path, kind: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"no {kind} file at {path}: export one first")
    return path


# -- TFLite --------------------------------------------------------------------------------------

def _representative(images: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A calibration generator yielding one batch-1 sample at a time, as the converter wants."""
    def generate():
        for i in range(len(images)):
            yield [images[i: i + 1]]
    return generate


def export_tflite_int8(model: tf.keras.Model, representative_images: np.ndarray, path: str | Path,
                       fold_dilations: bool = True) -> Path:
    """Full-integer post-training quantisation of ``model`` to a TFLite file.

    Weights int8 per channel, activations int8 per tensor (calibrated on the representative
    images), biases int32, input and output int8 (see the module docstring for why).

    Args:
        model: a single-input Keras model with a fixed input size.
        representative_images: ``(N, H, W, C)`` float32 images, already preprocessed
            (e.g. 100 training images); every one is used for calibration.
        path: where to write the ``.tflite`` file (parent folders are created).
        fold_dilations: rewrite dilated depthwise convs first (:func:`prepare_for_export`).
            ``False`` gives TF's own lowering, with the ops NNTool cannot read.

    Returns:
        The path written.

    Raises:
        ExportError: bad representative images, a model that cannot be rewritten, or a
            conversion failure.
    """
    images = _check_images(representative_images, _input_shape(model), "representative images")
    source = prepare_for_export(model) if fold_dilations else model
    converter = tf.lite.TFLiteConverter.from_keras_model(source)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        with warnings.catch_warnings():
            # emitted for every int8-I/O conversion; the statistics come from the calibration
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            flatbuffer = converter.convert()
    except Exception as exc:  # the converter raises many types (ConverterError, ValueError, ...)
        raise ExportError(f"int8 TFLite conversion of model '{model.name}' failed: {_summary(exc)}"
                          ) from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flatbuffer)
    return path


def _interpreter(path: str | Path) -> tf.lite.Interpreter:
    path = _existing(path, "TFLite")
    try:
        return tf.lite.Interpreter(model_path=str(path))
    except ValueError as exc:
        raise ExportError(f"{path} is not a readable TFLite model: {exc}") from exc


def tflite_op_summary(path: str | Path) -> Counter[str]:
    """How many operators of each type (``CONV_2D``, ...) a TFLite file holds.

    Raises:
        ExportError: the file is missing or not a TFLite model.
    """
    # _get_ops_details is the interpreter's (underscored but stable) operator listing
    return Counter(op["op_name"] for op in _interpreter(path)._get_ops_details())


def _layer_of(tensor_name: str) -> str:
    """Keras layer name in a converter tensor name ``<model>/<layer>/<op>...[;<fused names>]``."""
    parts = tensor_name.split(";")[0].split("/")
    return parts[1] if len(parts) >= 3 else parts[0]


def space_to_batch_layers(path: str | Path) -> list[str]:
    """Names of the layers around which a TFLite file has SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND.

    Raises:
        ExportError: the file is missing or not a TFLite model.
    """
    interpreter = _interpreter(path)
    tensors = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    names = [_layer_of(tensors.get(i, "?")) for op in interpreter._get_ops_details()
             if op["op_name"] in SPACE_BATCH_OPS for i in op["outputs"]]
    return sorted(set(names))


def assert_no_space_to_batch(path: str | Path) -> None:
    """Make sure a TFLite file keeps each dilated convolution in one operator, as the project's
    AutoTiler model does and NNTool needs (4.22 has space/batch handlers but refuses the batched
    convolution between them, see the module doc).

    Raises:
        ExportError: the file has SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND; the message names the
            layers and says how to export without them.
    """
    found = space_to_batch_layers(path)
    if found:
        raise ExportError(
            f"{path} lowers dilated convolution(s) {', '.join(found)} to SPACE_TO_BATCH_ND / "
            "BATCH_TO_SPACE_ND, whose batched convolution NNTool 4.22 refuses to import (and "
            "whose batch norms stay unfolded): export with fmas_hw.gap8.export.export_tflite_int8(..., fold_dilations=True) "
            "(the default), which keeps the dilation on DEPTHWISE_CONV_2D / CONV_2D")


def _quantize(images: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if detail["dtype"] == np.float32 or not scale:
        return images.astype(detail["dtype"])
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(images / scale + zero_point), info.min, info.max).astype(detail["dtype"])


def _dequantize(values: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if detail["dtype"] == np.float32 or not scale:
        return values.astype(np.float32)
    return (values.astype(np.float32) - zero_point) * np.float32(scale)


def tflite_predict(path: str | Path, images: np.ndarray) -> np.ndarray:
    """Run a TFLite model on preprocessed images, one at a time.

    Inputs are quantised with the input tensor's scale and zero-point, outputs dequantised, so
    the result compares directly with the Keras model's float output.

    Args:
        path: a TFLite file (int8 or float I/O).
        images: ``(N, H, W, C)`` float images, preprocessed as for the Keras model.

    Returns:
        ``(N, ...)`` float32 outputs (logits for the DeepLab models).

    Raises:
        ExportError: missing/unreadable file, or images that do not fit its input.
    """
    interpreter = _interpreter(path)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    images = _check_images(images, tuple(inp["shape"][1:]), f"images for {path}")
    results = []
    for i in range(len(images)):
        interpreter.set_tensor(inp["index"], _quantize(images[i: i + 1], inp))
        interpreter.invoke()
        results.append(_dequantize(interpreter.get_tensor(out["index"]), out))
    return np.concatenate(results)


def argmax_agreement(keras_model: tf.keras.Model, tflite_path: str | Path, images: np.ndarray,
                     batch_size: int = 8) -> float:
    """Fraction of pixels whose argmax class is the same in the Keras model and its TFLite export.

    Args:
        keras_model: the float model.
        tflite_path: its export.
        images: ``(N, H, W, C)`` preprocessed images (preferably not the calibration ones).
        batch_size: Keras inference batch size.

    Returns:
        Agreement in [0, 1].

    Raises:
        ExportError: bad images, or outputs of different shapes.
    """
    images = _check_images(images, _input_shape(keras_model), "agreement images")
    expected = keras_model.predict(images, batch_size=batch_size, verbose=0)
    got = tflite_predict(tflite_path, images)
    if expected.shape != got.shape:
        raise ExportError(f"{tflite_path} outputs {got.shape}, the Keras model {expected.shape}: "
                          "is it the export of this model?")
    return float(np.mean(np.argmax(expected, -1) == np.argmax(got, -1)))


# -- ONNX ----------------------------------------------------------------------------------------

def export_onnx(model: tf.keras.Model, path: str | Path, opset: int = 13) -> Path:
    """Export ``model`` (float) to ONNX with tf2onnx, batch 1, and check the file.

    The model goes through :func:`prepare_for_export` first, so dilations are attributes of
    ``Conv`` as in the TFLite file.

    Args:
        model: a single-input Keras model with a fixed input size.
        path: where to write the ``.onnx`` file (parent folders are created).
        opset: ONNX opset (13 by default; ``align_corners`` resizes need 11 or later).

    Returns:
        The path written.

    Raises:
        ExportError: conversion failure or a file that ``onnx.checker`` rejects.
    """
    import onnx
    import tf2onnx

    shape = _input_shape(model)
    name = model.inputs[0].name.split(":")[0] or "input"
    signature = [tf.TensorSpec((1, *shape), tf.float32, name=name)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        proto, _ = tf2onnx.convert.from_keras(prepare_for_export(model), input_signature=signature,
                                              opset=opset, output_path=str(path))
    except ExportError:
        raise
    except Exception as exc:  # tf2onnx raises many types
        raise ExportError(f"ONNX conversion (opset {opset}) of model '{model.name}' failed: "
                          f"{_summary(exc)}") from exc
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the ONNX export {path} is invalid: {exc}") from exc
    return path
