"""One entry point that builds any candidate of either backbone."""

from __future__ import annotations

import threading

import tf_keras

from ..errors import ArchitectureError
from ..space import Arch, MobileNetV2Arch, XceptionArch, get_space

# Accuracy and latency of a candidate run in two threads; Keras' functional-graph construction
# is not documented as thread-safe, and building is cheap next to evaluating, so serialise it.
_BUILD_LOCK = threading.Lock()

#: Paper input sizes: 513 for the Xception search, 384 for the GAP8 (MobileNetV2) search.


def build_model(arch: Arch, input_size: int | None = None, classes: int = 21,
                alpha: float = 1.0, gap8: bool = False) -> tf_keras.Model:
    """Build the Keras network of ``arch`` (fresh, initialiser weights).

    Args:
        arch: an architecture of either search space.
        input_size: square input size; default the backbone's (``SearchSpace.default_input_size``).
        classes: number of classes.
        alpha: MobileNetV2 width multiplier (must be 1.0 for Xception).
        gap8: build the GAP8-adapted variant (see :mod:`fmas_hw.gap8.adapt`).

    Raises:
        ArchitectureError: unknown architecture type or an alpha other than 1 for Xception.
    """
    size = input_size or get_space(arch.backbone).default_input_size
    with _BUILD_LOCK:
        return _build(arch, size, classes, alpha, gap8)


def _build(arch: Arch, size: int, classes: int, alpha: float, gap8: bool) -> tf_keras.Model:
    from .mobilenetv2 import build_mobilenetv2
    from .xception import build_xception

    if isinstance(arch, XceptionArch):
        if alpha != 1.0:
            raise ArchitectureError("the Xception backbone has no width multiplier: use --alpha 1")
        return build_xception(arch, size, classes, gap8=gap8)
    if isinstance(arch, MobileNetV2Arch):
        return build_mobilenetv2(arch, size, classes, alpha, gap8=gap8)
    raise ArchitectureError(f"cannot build {type(arch).__name__}: expected an Xception or MobileNetV2 arch")
