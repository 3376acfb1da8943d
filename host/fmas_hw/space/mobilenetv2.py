"""The 28-bit DeepLabV3+ / MobileNetV2 search space for GAP8 (SPEC §2.2).

Layout, most significant bit first:

* 4 stride bits: first layer of the 24-ch and 32-ch groups (0 -> 2, 1 -> 3), first layer of the
  160-ch group and the 320-ch layer (0 -> 1, 1 -> 2);
* 3 dilation bits for blocks 11, 12, 13 (0 -> 1, 1 -> 2);
* 3 x 2 dilation bits for blocks 14, 15, 16 (binary index into 1, 2, 3, 4);
* layer bits of the 24 (2), 32 (3), 64 (4), 96 (3) and 160 (3) channel groups.

Decode rule (weight compatible): the first *kept* layer of a group takes the role of the group's
first layer — its weights, stride and dilation — and later kept layers run with their own. A group
with no kept layer keeps its first layer, so every bit string decodes to a legal network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ArchitectureError
from .base import Arch, SearchSpace
from .genome import BitsLike, bits_to_index, format_genome, index_to_bits

#: Channel group -> block ids of keras-deeplab-v3-plus's MobileNetV2 (``expanded_conv_<id>``).
GROUPS: dict[int, tuple[int, ...]] = {
    24: (1, 2),
    32: (3, 4, 5),
    64: (6, 7, 8, 9),
    96: (10, 11, 12),
    160: (13, 14, 15),
}
#: Fixed blocks: 0 (16 ch) and 16 (320 ch) are always present.
FIRST_BLOCK, LAST_BLOCK = 0, 16
N_BLOCKS = 17
#: Supernet (output stride 8) stride and dilation of every block.
SUPERNET_STRIDE = {b: 1 for b in range(N_BLOCKS)} | {1: 2, 3: 2}
SUPERNET_DILATION = {b: 1 for b in range(N_BLOCKS)} | {b: 2 for b in (7, 8, 9, 10, 11, 12, 13)} | {
    14: 4, 15: 4, 16: 4}

STRIDE_GENES = ((1, (2, 3)), (3, (2, 3)), (13, (1, 2)), (16, (1, 2)))  # (block, values)
DILATION_BIT_GENES = (11, 12, 13)  # values (1, 2)
DILATION_INDEX_GENES = (14, 15, 16)  # values (1, 2, 3, 4)
DILATION_INDEX_VALUES = (1, 2, 3, 4)
LAYER_BITS_START = 4 + 3 + 6


@dataclass(frozen=True)
class Layer:
    """One inverted-residual block of a candidate.

    Attributes:
        block: id of the supernet block whose weights (and layer names) it uses.
        stride: depthwise stride.
        dilation: depthwise dilation rate.
    """

    block: int
    stride: int = 1
    dilation: int = 1


@dataclass(frozen=True)
class MobileNetV2Arch(Arch):
    """A DeepLabV3+ / MobileNetV2 candidate: the ordered blocks it runs (block 0 .. block 16)."""

    backbone: ClassVar[str] = "mobilenetv2"
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        blocks = [layer.block for layer in self.layers]
        if not blocks or blocks[0] != FIRST_BLOCK or blocks[-1] != LAST_BLOCK:
            raise ArchitectureError(f"blocks must start with 0 and end with 16, got {blocks}")
        if blocks != sorted(set(blocks)):
            raise ArchitectureError(f"blocks must be ascending and distinct, got {blocks}")
        for ids in GROUPS.values():
            if ids[0] not in blocks:
                raise ArchitectureError(f"the first block {ids[0]} of group {ids} must be present (got {blocks})")
        for layer in self.layers:
            if layer.stride not in (1, 2, 3) or layer.dilation not in (1, 2, 3, 4):
                raise ArchitectureError(f"illegal stride/dilation in {layer}")

    @property
    def blocks(self) -> tuple[int, ...]:
        return tuple(layer.block for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"layers": [[lay.block, lay.stride, lay.dilation] for lay in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MobileNetV2Arch:
        return cls(layers=tuple(Layer(int(b), int(s), int(d)) for b, s, d in data["layers"]))


def _supernet_layer(block: int) -> Layer:
    return Layer(block, SUPERNET_STRIDE[block], SUPERNET_DILATION[block])


class MobileNetV2Space(SearchSpace):
    """Genome <-> :class:`MobileNetV2Arch` (28 bits)."""

    name: ClassVar[str] = "mobilenetv2"
    n_bits: ClassVar[int] = 28
    supernet_genome: ClassVar[str] = "0000111111111111111111111111"
    default_input_size: ClassVar[int] = 384
    default_generations: ClassVar[int] = 25

    # -- genome -> architecture ------------------------------------------------------------
    def decode(self, genome: BitsLike) -> MobileNetV2Arch:
        b = self.parse(genome)
        stride = dict(SUPERNET_STRIDE)
        for i, (block, values) in enumerate(STRIDE_GENES):
            stride[block] = values[int(b[i])]
        dilation = dict(SUPERNET_DILATION)
        for i, block in enumerate(DILATION_BIT_GENES):
            dilation[block] = (1, 2)[int(b[4 + i])]
        for i, block in enumerate(DILATION_INDEX_GENES):
            dilation[block] = DILATION_INDEX_VALUES[bits_to_index(b[7 + 2 * i: 9 + 2 * i])]
        blocks = [FIRST_BLOCK]
        for ids, kept in zip(GROUPS.values(), self._group_bits(b), strict=False):
            blocks += self._group_blocks(ids, kept)
        blocks.append(LAST_BLOCK)
        return MobileNetV2Arch(tuple(Layer(k, stride[k], dilation[k]) for k in blocks))

    @staticmethod
    def _group_bits(bits: np.ndarray) -> list[np.ndarray]:
        out, pos = [], LAYER_BITS_START
        for ids in GROUPS.values():
            out.append(bits[pos: pos + len(ids)])
            pos += len(ids)
        return out

    @staticmethod
    def _group_blocks(ids: tuple[int, ...], kept: np.ndarray) -> list[int]:
        """The first kept layer becomes the group's first layer; later kept ones stay themselves."""
        positions = [i for i, k in enumerate(kept) if k]
        if not positions:
            return [ids[0]]
        return [ids[0]] + [ids[i] for i in positions[1:]]

    # -- architecture -> genome ------------------------------------------------------------
    def encode(self, arch: Arch) -> str:
        if not isinstance(arch, MobileNetV2Arch):
            raise ArchitectureError(f"expected a MobileNetV2Arch, got {type(arch).__name__}")
        by_block = {layer.block: layer for layer in arch.layers}
        layer = {k: by_block.get(k, _supernet_layer(k)) for k in range(N_BLOCKS)}
        bits: list[bool] = []
        for block, values in STRIDE_GENES:
            bits.append(bool(values.index(layer[block].stride)))
        bits += [layer[k].dilation == 2 for k in DILATION_BIT_GENES]
        for k in DILATION_INDEX_GENES:
            bits += index_to_bits(DILATION_INDEX_VALUES.index(layer[k].dilation), 2)
        for ids in GROUPS.values():
            bits += [k in by_block for k in ids]
        return format_genome(bits)

    def repair(self, bits: np.ndarray) -> np.ndarray:
        """Keep the first layer of every group that has no kept layer."""
        out = np.array(bits, dtype=bool, copy=True)
        pos = LAYER_BITS_START
        for ids in GROUPS.values():
            if not out[pos: pos + len(ids)].any():
                out[pos] = True
            pos += len(ids)
        return out

    def genes(self, arch: Arch) -> dict[str, Any]:
        assert isinstance(arch, MobileNetV2Arch)
        by_block = {layer.block: layer for layer in arch.layers}
        return {
            "strides": {f"b{block}": by_block[block].stride for block, _ in STRIDE_GENES},
            "dilations": {f"b{k}": by_block[k].dilation for k in DILATION_BIT_GENES + DILATION_INDEX_GENES
                          if k in by_block},
            "groups": {f"{ch}ch": [k for k in ids if k in by_block] for ch, ids in GROUPS.items()},
            "blocks": list(arch.blocks),
        }
