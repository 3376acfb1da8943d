"""Float ONNX export of a Keras candidate, shipped in the project for other tools (SPEC §6.2).

tf2onnx already rewrites TF's space/batch lowering of a dilated convolution into a dilated
``Conv``; the clone of :func:`~fmas_hw.gap8.export_rewrite.prepare_for_export` is exported all
the same, so the ONNX and the TFLite file describe the same graph. The ONNX file is float and is
shipped for other tools (viewers, ONNX runtimes), **not as an NNTool input**: NNTool 4.22 cannot
import it (it fails to fold the image-pooling branch's batch norm, "rank is 4", on tf2onnx's
graph), and the nntool route needs the int8 TFLite anyway -- opened with ``-q``, NNTool keeps the
converter's calibrated int8 quantisation, where an ONNX would need NNTool's own calibration.
``tests/gap8/test_nntool.py`` checks both facts with the real NNTool.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
import tf_keras

from ..errors import ExportError
from .export_inputs import exception_summary, fixed_input_shape
from .export_rewrite import prepare_for_export


def export_onnx(model: tf_keras.Model, path: str | Path, opset: int = 13) -> Path:
    """Export ``model`` (float) to ONNX with tf2onnx, batch 1, and check the file.

    The model goes through :func:`~fmas_hw.gap8.export_rewrite.prepare_for_export` first, so
    dilations are attributes of ``Conv`` as in the TFLite file.

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

    shape = fixed_input_shape(model)
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
                          f"{exception_summary(exc)}") from exc
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the ONNX export {path} is invalid: {exc}") from exc
    return path
