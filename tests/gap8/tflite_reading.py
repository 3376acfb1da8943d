"""Reading exported TFLite files back on the host: the tests' view of what the export wrote.

The package only writes these files (NNTool reads them on the nntool route); the tests read them
to check the operators (:func:`tflite_op_summary`, :func:`space_to_batch_layers`), run them
(:func:`tflite_predict`, :func:`float_tflite`) and compare them with the Keras model
(:func:`argmax_agreement`). Missing or unreadable files raise :class:`~fmas_hw.errors.ExportError`
like the exporters do, so a test names the file it could not read.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras
from ai_edge_litert.interpreter import Interpreter

from fmas_hw.errors import ExportError
from fmas_hw.gap8.export_inputs import check_images, fixed_input_shape

#: TFLite ops TF emits for dilated convolutions; the export folds them (see
#: :mod:`fmas_hw.gap8.export_rewrite`).
SPACE_BATCH_OPS = ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")


def _existing(path: str | Path, kind: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"no {kind} file at {path}: export one first")
    return path


def _interpreter(path: str | Path) -> Interpreter:
    """LiteRT's interpreter (TensorFlow's own ``tf.lite.Interpreter`` is deprecated for it)."""
    path = _existing(path, "TFLite")
    try:
        return Interpreter(model_path=str(path))
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
    convolution between them, see :mod:`fmas_hw.gap8.export_rewrite`).

    Raises:
        ExportError: the file has SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND; the message names the
            layers and says how to export without them.
    """
    found = space_to_batch_layers(path)
    if found:
        raise ExportError(
            f"{path} lowers dilated convolution(s) {', '.join(found)} to SPACE_TO_BATCH_ND / "
            "BATCH_TO_SPACE_ND, whose batched convolution NNTool 4.22 refuses to import (and "
            "whose batch norms stay unfolded): export with fmas_hw.gap8.tflite_export.export_tflite_int8(..., fold_dilations=True) "
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
    images = check_images(images, tuple(inp["shape"][1:]), f"images for {path}")
    results = []
    for i in range(len(images)):
        interpreter.set_tensor(inp["index"], _quantize(images[i: i + 1], inp))
        interpreter.invoke()
        results.append(_dequantize(interpreter.get_tensor(out["index"]), out))
    return np.concatenate(results)


def argmax_agreement(keras_model: tf_keras.Model, tflite_path: str | Path, images: np.ndarray,
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
    images = check_images(images, fixed_input_shape(keras_model), "agreement images")
    expected = keras_model.predict(images, batch_size=batch_size, verbose=0)
    got = tflite_predict(tflite_path, images)
    if expected.shape != got.shape:
        raise ExportError(f"{tflite_path} outputs {got.shape}, the Keras model {expected.shape}: "
                          "is it the export of this model?")
    return float(np.mean(np.argmax(expected, -1) == np.argmax(got, -1)))


def float_tflite(model: tf_keras.Model, x: np.ndarray) -> tuple[np.ndarray, set[str]]:
    """Float TFLite output of ``model`` on ``x`` and its op types."""
    interpreter = Interpreter(model_content=tf.lite.TFLiteConverter.from_keras_model(model).convert())
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), ops


def depthwise_geometry(path) -> set[tuple[int, int, int]]:
    """(stride, dilation, padding) of every DEPTHWISE_CONV_2D, read from the flatbuffer."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    options = [op.builtinOptions for op in model.subgraphs[0].operators]
    return {(o.strideH, o.dilationHFactor, o.padding) for o in options
            if isinstance(o, schema.DepthwiseConv2DOptionsT)}
