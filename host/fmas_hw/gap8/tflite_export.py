"""Int8 TFLite export of a Keras candidate: the file GAP8's NNTool reads (SPEC §6.2).

The model is converted through :func:`~fmas_hw.gap8.export_rewrite.prepare_for_export`, so each
dilated convolution stays one ``DEPTHWISE_CONV_2D`` / ``CONV_2D`` with its dilation factors and
its batch norm folded (why: :mod:`fmas_hw.gap8.export_rewrite`).

The TFLite file has int8 input and output (``inference_input_type`` /
``inference_output_type``): the graph is integer end to end, so NNTool (opened with ``-q``)
needs no float ``QUANTIZE`` / ``DEQUANTIZE`` nodes; for images in [-1, 1] the input scale is
~1/127.5, close to the ``u8 - 128`` of NNTool's ``imageformat ... offset_int8``. Running the
file on the host therefore means quantising the input and dequantising the output with the I/O
tensors' scale and zero-point.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras

from ..errors import ExportError
from .export_inputs import check_images, exception_summary, fixed_input_shape
from .export_rewrite import prepare_for_export


def _representative(images: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A calibration generator yielding one batch-1 sample at a time, as the converter wants."""
    def generate():
        for i in range(len(images)):
            yield [images[i: i + 1]]
    return generate


def export_tflite_int8(model: tf_keras.Model, representative_images: np.ndarray, path: str | Path,
                       fold_dilations: bool = True) -> Path:
    """Full-integer post-training quantisation of ``model`` to a TFLite file.

    Weights int8 per channel, activations int8 per tensor (calibrated on the representative
    images), biases int32, input and output int8 (see the module docstring for why).

    Args:
        model: a single-input Keras model with a fixed input size.
        representative_images: ``(N, H, W, C)`` float32 images, already preprocessed
            (e.g. 100 training images); every one is used for calibration.
        path: where to write the ``.tflite`` file (parent folders are created).
        fold_dilations: rewrite dilated depthwise convs first
            (:func:`~fmas_hw.gap8.export_rewrite.prepare_for_export`).
            ``False`` gives TF's own lowering, with the ops NNTool cannot read.

    Returns:
        The path written.

    Raises:
        ExportError: bad representative images, a model that cannot be rewritten, or a
            conversion failure.
    """
    images = check_images(representative_images, fixed_input_shape(model), "representative images")
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
        raise ExportError(f"int8 TFLite conversion of model '{model.name}' failed: {exception_summary(exc)}"
                          ) from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flatbuffer)
    return path
