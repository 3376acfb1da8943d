"""The GAP8 adaptations of SPEC §6.1, applied to a candidate while keeping its weights.

1. input 384x384; 2. ASPP pruned to the image-pooling and 1x1 branches; 3. every free-form
resize replaced by an integer-factor ``UpSampling2D``; 4. every global average pooling replaced
by consecutive ``AveragePooling2D`` layers; 5. an upsampling of a 1x1 map along both axes (the
image-pooling branch's broadcast back to the feature size) split into a 1xW then an Hx1
upsampling.

Adaptation 5 and its reason: :func:`fmas_hw.model.blocks.broadcast_upsampling`.

The adapted network is built by the same builders in their ``gap8`` mode (so every layer keeps its
keras-deeplab-v3-plus name) and takes its weights from the candidate by layer name. Pruning the
ASPP keeps the first 512 input channels of ``concat_projection``: the image-pooling and 1x1
branches come first in the concatenation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tf_keras

from ..errors import AdaptationError
from ..model.builder import build_model
from ..space import Arch
from .candidate_file import GAP8_INPUT_SIZE

#: Channels of the two ASPP branches GAP8 keeps (image pooling + 1x1), 256 each.
KEPT_ASPP_CHANNELS = 512


@dataclass
class Adapted:
    """A GAP8-adapted candidate.

    Attributes:
        model: the adapted Keras model (weights copied from the candidate).
        changes: one human-readable line per adaptation applied.
    """

    model: tf_keras.Model
    changes: list[str] = field(default_factory=list)


def adapt(arch: Arch, source: tf_keras.Model, classes: int, alpha: float = 1.0,
          input_size: int = GAP8_INPUT_SIZE, allow_crop: bool = True) -> Adapted:
    """Build the GAP8-adapted network of ``arch`` with the weights of ``source``.

    Args:
        arch: the candidate's architecture.
        source: a model holding the candidate's weights under keras-deeplab-v3-plus layer names
            (the candidate itself or the supernet).
        classes: number of classes.
        alpha: MobileNetV2 width multiplier.
        input_size: adapted input size (384 on GAP8).
        allow_crop: when an upsampling ratio is not an integer, round the factor up and crop
            (default); when False, raise instead.

    Raises:
        AdaptationError: naming the layer that cannot be adapted.
    """
    model = build_model(arch, input_size, classes, alpha, gap8=True)
    changes = _describe(model)
    if not allow_crop:
        cropped = [c for c in changes if "crop" in c]
        if cropped:
            raise AdaptationError(f"not an integer upsampling factor: {cropped[0]}")
    _copy_weights(source, model)
    if arch.backbone == "xception":
        changes.insert(0, "ASPP: separable branches aspp1-aspp3 removed; concat_projection keeps "
                          f"its first {KEPT_ASPP_CHANNELS} input channels")
    changes.insert(0, f"input: {input_size}x{input_size}")
    changes += [f"{lay.name[:-2]}: 1x1 -> HxW upsampling split into 1xW then Hx1 (AutoTiler tiling)"
                for lay in model.layers if lay.name.endswith("_upsample_w")]
    return Adapted(model, changes)


def _copy_weights(source: tf_keras.Model, target: tf_keras.Model) -> None:
    by_name = {layer.name: layer for layer in source.layers if layer.weights}
    for layer in (lay for lay in target.layers if lay.weights):
        if layer.name not in by_name:
            raise AdaptationError(
                f"layer '{layer.name}' of the adapted network has no weights in '{source.name}': "
                "adapt a model of the same backbone, width and classes")
        values = by_name[layer.name].get_weights()
        if layer.name == "concat_projection":
            values = [values[0][:, :, : layer.weights[0].shape[2], :]]
        try:
            layer.set_weights(values)
        except ValueError as exc:
            raise AdaptationError(f"layer '{layer.name}': {exc}") from exc


def _describe(model: tf_keras.Model) -> list[str]:
    out = []
    pools = [lay for lay in model.layers if isinstance(lay, tf_keras.layers.AveragePooling2D)]
    if pools:
        sizes = " -> ".join(f"{p.pool_size[0]}x{p.pool_size[1]}" for p in pools)
        out.append(f"global average pooling -> AveragePooling2D chain {sizes}")
    for lay in model.layers:
        if isinstance(lay, tf_keras.layers.UpSampling2D):
            out.append(f"{lay.name}: UpSampling2D x{lay.size[0]}x{lay.size[1]} ({lay.interpolation})")
        if isinstance(lay, tf_keras.layers.Cropping2D):
            (_, b), (_, r) = lay.cropping
            out.append(f"{lay.name}: non-integer ratio, factor rounded up and {b}x{r} pixels cropped")
    return out

