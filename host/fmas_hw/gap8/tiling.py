"""L1 tiles and int8 tensor sizes of a GAP8 layer (the ``L1 (tiles)`` rules of :mod:`.memory`).

The tile of a layer is the one the open route's code generator runs it with
(:func:`fmas_hw.gap8.tile_plan.plan_layer`): the memory plan, the fit verdict and the cycle
estimate read the same tiles, L1 bytes and L2 <-> L1 traffic the generated C has. Layout facts
(bytes per element) come from ``hw/gap8.toml`` ``[memory_plan]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..hw import load as load_hw

if TYPE_CHECKING:
    from .graph import Node


@dataclass(frozen=True)
class Tile:
    """An L1 tile of a layer: ``rows`` output rows x ``channels`` output channels.

    Attributes:
        rows: output rows per tile (full width).
        channels: output channels per tile.
        in_channels: input channels per tile (< all when a convolution splits its input).
        bytes: L1 bytes the tile needs (double-buffered operands + accumulator).
        count: tiles needed to cover the layer.
        traffic: L2 <-> L1 bytes the DMA moves for the whole layer (halos and re-reads included).
    """

    rows: int
    channels: int
    in_channels: int
    bytes: int
    count: int
    traffic: int



# -- sizes ------------------------------------------------------------------------------------


def _layout() -> dict[str, int]:
    return load_hw()["memory_plan"]


def tensor_bytes(shape: tuple[int, int, int]) -> int:
    """int8 bytes of an (H, W, C) activation."""
    return math.prod(shape) * _layout()["activation_bytes"]


def weight_bytes(node: Node) -> int:
    """Constants of ``node``: int8 filters + per-output-channel bias, scale and shift."""
    if node.op not in ("conv", "depthwise"):
        return 0
    lay = _layout()
    per_channel = lay["bias_bytes"] + lay["scale_bytes"] + lay["shift_bytes"]
    kh, kw = node.kernel
    cout = node.out_shape[2]
    cin = node.in_shape[2] if node.op == "conv" else 1
    return kh * kw * cin * cout * lay["weight_bytes"] + cout * per_channel


# -- L1 tiles ---------------------------------------------------------------------------------


def min_tile_bytes(node: Node) -> int:
    """L1 bytes of the smallest tile ``node`` can run with (0 for a stacked concatenation)."""
    from .tile_plan import smallest_tile_bytes

    return smallest_tile_bytes(node)


def plan_tile(node: Node, budget: int) -> Tile | None:
    """The tile the open route runs ``node`` with in ``budget`` bytes of L1.

    Returns:
        The tile, or ``None`` for a node without a kernel (a concatenation) or when not even the
        minimal tile fits (the plan then reports an L1 failure).
    """
    from .bands import reads_padding_on_both_sides
    from .tile_plan import Budgets, TilingError, kernel_kind, plan_layer

    if not kernel_kind(node):
        return None
    try:
        t = plan_layer(node, node.out_shape, replace(Budgets.from_hw(), l1=budget),
                       reads_padding_on_both_sides(node))
    except TilingError:
        return None
    return Tile(t.rows, t.channels, t.in_channels, t.l1_bytes, t.tiles, t.dma_in + t.dma_out)
