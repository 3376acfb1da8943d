"""What the TFLite and ONNX exporters accept, checked before a converter runs.

The converters fail late and at length on a bad input (a model with a free input size, images
of the wrong shape or type); these checks fail first with what was expected and what to do.
:func:`exception_summary` cuts a converter's multi-page message down to its first line.
"""

from __future__ import annotations

import numpy as np
import tf_keras

from ..errors import ExportError


def fixed_input_shape(model: tf_keras.Model) -> tuple[int, ...]:
    """The (H, W, C) input shape of a single-input model."""
    if len(model.inputs) != 1:
        raise ExportError(f"model '{model.name}' has {len(model.inputs)} inputs: export needs one image input")
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3 or None in shape:
        raise ExportError(f"model '{model.name}' input shape {shape} is not a fixed (H, W, C): "
                          "build the model with a fixed input size")
    return tuple(int(d) for d in shape)


def check_images(images, expected: tuple[int, ...], what: str) -> np.ndarray:
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


def exception_summary(exc: BaseException) -> str:
    """``Type: first line`` of an exception (converter messages run to pages)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
