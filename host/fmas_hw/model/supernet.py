"""The in-memory supernet and weight sharing: ``Supernet.subnet(arch)``.

A candidate needs no new trainable weight: every weight it has is the supernet weight of the
layer with the same name (SPEC §1). Candidates are built fresh and their weights copied from the
in-memory supernet by layer name — no disk round-trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tf_keras

from ..errors import WeightsError
from ..space import Arch, get_space
from .builder import build_model
from .weights import file_digest, load_weights


@dataclass
class Supernet:
    """A supernet held in memory, with its build parameters.

    Attributes:
        backbone: 'xception' or 'mobilenetv2'.
        model: the Keras supernet.
        input_size: the input size it was built at (candidates may use another one).
        classes: number of classes.
        alpha: MobileNetV2 width multiplier.
        weights_path: file the weights came from (None: initialiser weights).
    """

    backbone: str
    model: tf_keras.Model
    input_size: int
    classes: int = 21
    alpha: float = 1.0
    weights_path: str | None = None

    @classmethod
    def build(cls, backbone: str, input_size: int | None = None, classes: int = 21,
              alpha: float = 1.0, weights: str | Path | None = None) -> Supernet:
        """Build the supernet of ``backbone`` and optionally load ``weights`` by layer name."""
        size = input_size or get_space(backbone).default_input_size
        model = build_model(get_space(backbone).supernet(), size, classes, alpha)
        if weights is not None:
            load_weights(model, weights)
        return cls(backbone, model, size, classes, alpha, str(weights) if weights else None)

    @property
    def weights_hash(self) -> str:
        """Digest of the weight file ('init' for initialiser weights)."""
        return file_digest(self.weights_path)[:16] if self.weights_path else "init"

    def layer_weights(self) -> dict[str, list]:
        """The supernet's weight variables by layer name."""
        return {layer.name: layer.weights for layer in self.model.layers if layer.weights}

    def subnet(self, arch: Arch, input_size: int | None = None) -> tf_keras.Model:
        """Build candidate ``arch`` with every weight copied from this supernet by layer name.

        Args:
            arch: the candidate (must belong to this supernet's search space).
            input_size: input size of the candidate (default: the supernet's).

        Raises:
            WeightsError: a candidate layer has no counterpart of the same shape in the supernet
                (cannot happen for genomes of the search space; guards hand-made archs).
        """
        if arch.backbone != self.backbone:
            raise WeightsError(f"a {arch.backbone} candidate cannot share weights with a {self.backbone} supernet")
        model = build_model(arch, input_size or self.input_size, self.classes, self.alpha)
        copy_weights(self.layer_weights(), model)
        return model


def copy_weights(source: dict[str, list], target: tf_keras.Model) -> None:
    """Assign to every weight-bearing layer of ``target`` the values of ``source[layer.name]``.

    Raises:
        WeightsError: a layer is missing from ``source`` or its shapes differ.
    """
    for layer in target.layers:
        if not layer.weights:
            continue
        variables = source.get(layer.name)
        if variables is None or [tuple(v.shape) for v in variables] != [tuple(w.shape) for w in layer.weights]:
            raise WeightsError(f"layer '{layer.name}' has no weights of the same shapes in the supernet")
        for dst, src in zip(layer.weights, variables, strict=False):
            dst.assign(src)
