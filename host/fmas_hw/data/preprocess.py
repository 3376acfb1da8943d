"""DeepLab preprocessing: fit an image and its mask into the square network input.

As in ``keras-deeplab-v3-plus``: the image is scaled so that its longer side equals the input size
S (aspect ratio kept; bilinear for images, nearest for labels) and padded at the bottom and right to
S x S. Image padding is mid-grey (127.5, which the input scaling maps to exactly 0), label padding
is the ignore label, so padding never counts in the mIoU.

The work is split in two so that the decode-once cache (:mod:`fmas_hw.data.cache`) can store
compact ``uint8`` arrays: :func:`fit_to_square` (resize + pad, ``uint8``) and
:func:`network_input` (input scaling + exact padding value, ``float32``, batched).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from ..errors import ConfigError
from .voc import IGNORE_LABEL


def _scale_tf(x: Any) -> Any:
    # keras applications' preprocess_input(mode="tf"): [0, 255] -> [-1, 1]; plain arithmetic so
    # the same function works on numpy arrays and on TensorFlow tensors
    return x / 127.5 - 1.0


#: Input scaling per backbone. keras-deeplab-v3-plus uses mode "tf" for both backbones; the table
#: is kept so that a backbone with another convention only adds a row.
INPUT_SCALING: dict[str, Callable[[Any], Any]] = {
    "xception": _scale_tf,
    "mobilenetv2": _scale_tf,
}

#: Image padding value before scaling: mid-grey, 0 after scaling.
IMAGE_PAD = 127.5


def scale_input(x: Any, backbone: str = "mobilenetv2") -> Any:
    """Apply the backbone's input scaling to pixel values in [0, 255].

    Args:
        x: float array or tensor of RGB values.
        backbone: ``xception`` or ``mobilenetv2``.

    Returns:
        The scaled values (same type as ``x``).

    Raises:
        ConfigError: unknown backbone.
    """
    try:
        scale = INPUT_SCALING[backbone]
    except KeyError:
        raise ConfigError(f"no input scaling for backbone {backbone!r}: expected one of "
                          f"{sorted(INPUT_SCALING)}") from None
    return scale(x)


def fitted_size(height: int, width: int, size: int) -> tuple[int, int]:
    """Height and width after scaling the longer side to ``size`` (each at least 1)."""
    scale = size / max(height, width)
    return max(1, min(size, round(height * scale))), max(1, min(size, round(width * scale)))


def fit_to_square(image: np.ndarray, label: np.ndarray | None, size: int
                  ) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """Resize so the longer side is ``size`` and pad bottom/right to ``size`` x ``size``.

    Args:
        image: ``uint8`` (H, W, 3).
        label: ``uint8`` (H, W) or None.
        size: network input size S.

    Returns:
        ``(image uint8 (S, S, 3), label uint8 (S, S) or None, (h, w))`` where ``(h, w)`` is the
        valid (unpadded) region. The image padding holds 128 as a placeholder:
        :func:`network_input` replaces it by the exact mid-grey value.
    """
    h, w = fitted_size(image.shape[0], image.shape[1], size)
    out_image = np.full((size, size, 3), 128, dtype=np.uint8)
    resized = Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR)
    out_image[:h, :w] = np.asarray(resized)
    out_label = None
    if label is not None:
        out_label = np.full((size, size), IGNORE_LABEL, dtype=np.uint8)
        out_label[:h, :w] = np.asarray(Image.fromarray(label).resize((w, h), Image.Resampling.NEAREST))
    return out_image, out_label, (h, w)


def valid_mask(sizes: np.ndarray, size: int) -> np.ndarray:
    """Boolean mask (N, S, S) of the unpadded region of each image.

    Args:
        sizes: int array (N, 2) of valid ``(h, w)``.
        size: input size S.
    """
    sizes = np.asarray(sizes).reshape(-1, 2)
    idx = np.arange(size)
    rows = idx[None, :, None] < sizes[:, 0, None, None]
    cols = idx[None, None, :] < sizes[:, 1, None, None]
    return rows & cols


def network_input(images: np.ndarray, sizes: np.ndarray, backbone: str = "mobilenetv2"
                  ) -> np.ndarray:
    """Turn fitted ``uint8`` images into the float32 network input.

    Args:
        images: ``uint8`` (N, S, S, 3) from :func:`fit_to_square`.
        sizes: (N, 2) valid ``(h, w)`` per image.
        backbone: selects the input scaling.

    Returns:
        ``float32`` (N, S, S, 3); padding is exactly ``scale_input(127.5)`` (0 for both backbones).
    """
    x = scale_input(images.astype(np.float32), backbone)
    pad = np.float32(scale_input(np.float32(IMAGE_PAD), backbone))
    x[~valid_mask(sizes, images.shape[1])] = pad
    return x.astype(np.float32, copy=False)


def preprocess(image: np.ndarray, label: np.ndarray | None, size: int,
               backbone: str = "mobilenetv2") -> tuple[np.ndarray, np.ndarray | None]:
    """DeepLab preprocessing of one image (and mask) to a square network input.

    Args:
        image: ``uint8`` (H, W, 3) RGB.
        label: ``uint8`` (H, W) class indices, or None.
        size: input size S.
        backbone: ``xception`` or ``mobilenetv2``.

    Returns:
        ``(float32 (S, S, 3), uint8 (S, S) or None)``.

    Raises:
        ConfigError: unknown backbone.
    """
    fitted, fitted_label, hw = fit_to_square(image, label, size)
    return network_input(fitted[None], np.array([hw]), backbone)[0], fitted_label
